using Decommission.ServiceDefaults;
using System.Security.Claims;
using Decommission.Certificates.Destructions;
using Decommission.Contracts;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Decommission.Certificates.Apis;

/// <summary>
/// Physical destructions, attested by two authenticated people: one API key records it (performed by), another witnesses it.
/// Once witnessed, the saga is told (RecordPhysicalDestruction) and a Destroy certificate can be issued from this record alone.
/// </summary>
public static class DestructionsApi
{
    public const int MaxTextLength = 200;

    public static IEndpointRouteBuilder MapDestructionsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/destructions").RequireAuthorization(ApiRoles.DestructionPolicy);
        api.MapPost("/", Record).WithName("RecordDestruction");
        api.MapGet("/{id}", Get).WithName("GetDestruction");
        api.MapPost("/{id}/witness", Witness).WithName("WitnessDestruction");
        return app;
    }

    public sealed record NewDestruction(Guid RetirementId, string? DeviceId, string? Method, string? Location, DateTimeOffset DestroyedAt);

    public sealed record DestructionView(string RecordId, Guid RetirementId, string DeviceId, string Method, string Location, DateTimeOffset DestroyedAt,
        string PerformedBy, DateTimeOffset RecordedAt, string? Witness, DateTimeOffset? WitnessedAt, string Status)
    {
        public static DestructionView Of(DestructionRecord r) => new(r.RecordId, r.RetirementId, r.DeviceId, r.Method, r.Location, r.DestroyedAt,
            r.PerformedBy, r.RecordedAt, r.Witness, r.WitnessedAt, r.Status);
    }

    private static async Task<IResult> Record(NewDestruction body, ClaimsPrincipal user, DestructionStore store, AccessLog log, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var problems = new List<string>();
        if (body.RetirementId == Guid.Empty) problems.Add("retirementId");
        foreach (var (name, value) in new[] { ("deviceId", body.DeviceId), ("method", body.Method), ("location", body.Location) })
            if (string.IsNullOrWhiteSpace(value) || value.Length > MaxTextLength || value.Any(char.IsControl))
                problems.Add($"{name} (1 to {MaxTextLength} characters, no control characters)");
        if (body.DestroyedAt == default || body.DestroyedAt > now.AddMinutes(5)) problems.Add("destroyedAt (a time, not in the future)");
        if (problems.Count > 0)
            return Results.Problem($"missing or invalid: {string.Join(", ", problems)}", statusCode: StatusCodes.Status400BadRequest);

        var record = new DestructionRecord
        {
            RecordId = $"DR-{NewId.NextGuid():N}".ToUpperInvariant(),
            RetirementId = body.RetirementId,
            DeviceId = body.DeviceId!.Trim(),
            Method = body.Method!.Trim(),
            Location = body.Location!.Trim(),
            DestroyedAt = body.DestroyedAt.ToUniversalTime(),
            PerformedBy = user.Identity!.Name!,
            PerformedByKey = user.FindFirstValue(ApiKeyAuthenticationHandler.KeyIdClaim)!,
            RecordedAt = now,
        };
        await store.AddAsync(record, cancellationToken);
        await log.WriteAsync(user, "record-destruction", record.RecordId, "awaiting witness", cancellationToken);
        return Results.Created($"/api/destructions/{record.RecordId}", DestructionView.Of(record));
    }

    private static async Task<IResult> Get(string id, DestructionStore store, CancellationToken cancellationToken) =>
        await store.FindAsync(id, cancellationToken) is { } record ? Results.Ok(DestructionView.Of(record)) : Results.NotFound();

    private static async Task<IResult> Witness(string id, ClaimsPrincipal user, DestructionStore store, AccessLog log, IBus bus, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        if (await store.FindAsync(id, cancellationToken) is not { } before)
            return Results.NotFound();
        var name = user.Identity!.Name!;
        var keyId = user.FindFirstValue(ApiKeyAuthenticationHandler.KeyIdClaim)!;
        if (before.PerformedByKey == keyId || before.PerformedBy == name)
        {
            await log.WriteAsync(user, "witness-destruction", id, "refused: same person as performed it", cancellationToken);
            return Results.Problem($"{name} recorded this destruction and cannot also witness it: the witness must be another person, with their own API key",
                statusCode: StatusCodes.Status409Conflict);
        }

        var record = await store.WitnessAsync(id, name, keyId, clock.GetUtcNow(), cancellationToken);
        if (record!.WitnessKey != keyId)
            return Results.Problem($"already witnessed by {record.Witness} at {record.WitnessedAt:u}", statusCode: StatusCodes.Status409Conflict);

        // Sent again when the witness repeats the call (a lost answer): the saga ignores a destruction it already has.
        // Through RecordPhysicalDestruction's own exchange (bound to the saga's queue by the broker's set-up): the certificates
        // service's user may write that exchange only, and the saga believes the message only from this user.
        var endpoint = await bus.GetSendEndpoint(TypeExchange.Of<RecordPhysicalDestruction>(bus));
        await endpoint.Send(new RecordPhysicalDestruction
        {
            RetirementId = record.RetirementId,
            DestructionRecordId = record.RecordId,
            Destruction = new PhysicalDestruction
            {
                Method = record.Method, PerformedBy = record.PerformedBy, Witness = record.Witness!, Location = record.Location, DestroyedAt = record.DestroyedAt,
            },
        }, cancellationToken);
        await log.WriteAsync(user, "witness-destruction", id, "witnessed", cancellationToken);
        return Results.Ok(DestructionView.Of(record));
    }
}
