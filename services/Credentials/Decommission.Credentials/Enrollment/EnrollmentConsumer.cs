using Decommission.Contracts;
using Decommission.Credentials.Provisioning;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Decommission.Credentials.Enrollment;

/// <summary>
/// Enrolls one device or a CSV of them and answers the caller with the secrets (the only time they exist in clear);
/// each device's attestation key is registered with the device gateway so its wipe receipt can be verified. The answer
/// carries what every device's provisioning bundle holds besides its identity certificate, once.
/// </summary>
public sealed class EnrollmentConsumer(DeviceEnrollment enrollment, ProvisioningMaterial provisioning, ILogger<EnrollmentConsumer> logger) :
    IConsumer<EnrollDevice>, IConsumer<EnrollDevicesFromCsv>
{
    public async Task Consume(ConsumeContext<EnrollDevice> context)
    {
        // Read first: a missing key file fails the request before anything is enrolled.
        var material = await provisioning.ReadAsync(context.CancellationToken);
        var (enrolled, problems) = await enrollment.EnrollAsync([(0, context.Message)], context.CancellationToken);
        if (problems.Count > 0)
        {
            await context.RespondAsync(new EnrollmentRejected { Problems = problems });
            return;
        }
        await context.RespondAsync(enrolled.Single() with { Provisioning = material });
    }

    public async Task Consume(ConsumeContext<EnrollDevicesFromCsv> context)
    {
        var material = await provisioning.ReadAsync(context.CancellationToken);
        var (rows, csvProblems) = DeviceEnrollment.ReadCsv(context.Message.Csv, context.Message.RequestedBy);
        var (enrolled, problems) = csvProblems.Count > 0 ? ([], csvProblems) : await enrollment.EnrollAsync(rows, context.CancellationToken);
        if (problems.Count > 0)
        {
            logger.LogWarning("CSV enrollment by {RequestedBy} refused: {Count} problem(s), nothing enrolled", context.Message.RequestedBy, problems.Count);
            await context.RespondAsync(new EnrollmentRejected { Problems = problems });
            return;
        }
        logger.LogInformation("Enrolled {Count} devices from CSV for {RequestedBy}", enrolled.Count, context.Message.RequestedBy);
        await context.RespondAsync(new DevicesEnrolled { Devices = enrolled, Provisioning = material });
    }
}
