using Decommission.Contracts;
using MassTransit;

namespace Decommission.Credentials.Enrollment;

/// <summary>Tells any service whether a secret is still a valid credential of the device; a revoked one has no hash left to match.</summary>
public sealed class CheckCredentialConsumer(EnrolledDeviceStore devices) : IConsumer<CheckCredential>
{
    public async Task Consume(ConsumeContext<CheckCredential> context)
    {
        var query = context.Message;
        var credentials = await devices.CredentialsOfAsync(query.DeviceId, context.CancellationToken);

        var match = credentials.FirstOrDefault(c => c.Hash is not null && SecretHasher.Verify(query.Secret, c.Hash));
        await context.RespondAsync(new CredentialChecked
        {
            DeviceId = query.DeviceId,
            Valid = match is not null,
            Kind = match?.Kind ?? "",
            Reason = match is not null ? ""
                : credentials.Count == 0 ? "unknown device"
                : credentials.All(c => c.RevokedAt is not null) ? "the device's credentials are revoked"
                : "no credential of the device matches",
        });
    }
}
