using Decommission.Contracts;
using MassTransit;

namespace Decommission.Credentials.Revocation;

/// <summary>Records the inventory's admissions.</summary>
public sealed class RetirementAdmissionConsumer(AdmittedRetirementStore admitted, TimeProvider clock) : IConsumer<RetirementAccepted>
{
    public Task Consume(ConsumeContext<RetirementAccepted> context) =>
        admitted.RecordAsync(context.Message.RetirementId, context.Message.DeviceId, clock.GetUtcNow());
}
