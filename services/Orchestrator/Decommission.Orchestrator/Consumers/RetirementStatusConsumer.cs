using Decommission.Contracts;
using Decommission.Orchestrator.Persistence;
using MassTransit;

namespace Decommission.Orchestrator.Consumers;

/// <summary>Answers status queries by retirement id or device id from the stored saga and its audit trail, lists retirements and counts them by state.</summary>
public sealed class RetirementStatusConsumer(OrchestratorDatabase database, RetirementSagaStore store) : IConsumer<GetRetirementStatus>, IConsumer<ListRetirements>, IConsumer<CountRetirements>
{
    public async Task Consume(ConsumeContext<ListRetirements> context)
    {
        var limit = Math.Clamp(context.Message.Limit, 1, 10_000);
        await context.RespondAsync(new RetirementList { Retirements = await RetirementQueries.ListAsync(database, context.Message.State, limit) });
    }

    public async Task Consume(ConsumeContext<CountRetirements> context) =>
        await context.RespondAsync(new RetirementCounts { ByState = await RetirementQueries.CountByStateAsync(database) });

    public async Task Consume(ConsumeContext<GetRetirementStatus> context)
    {
        var query = context.Message;
        var id = query.RetirementId
            ?? (string.IsNullOrWhiteSpace(query.DeviceId) ? null : await RetirementQueries.LatestRetirementOfDevice(database, query.DeviceId));

        var retirement = id is { } retirementId ? await store.LoadAsync(retirementId, context.CancellationToken) : null;
        if (retirement is null)
        {
            await context.RespondAsync(new RetirementNotFound { RetirementId = query.RetirementId, DeviceId = query.DeviceId });
            return;
        }

        await context.RespondAsync(new RetirementStatus
        {
            RetirementId = retirement.CorrelationId,
            DeviceId = retirement.DeviceId,
            State = retirement.CurrentState,
            EraseAttempts = retirement.EraseAttempts,
            Deadline = retirement.Deadline,
            FailureReason = retirement.FailureReason,
            FailureDetail = retirement.FailureDetail,
            CertificateId = retirement.CertificateId,
            History = await RetirementQueries.AuditTrailOf(database, retirement.CorrelationId),
        });
    }
}
