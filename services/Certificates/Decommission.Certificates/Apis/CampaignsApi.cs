using System.Security.Claims;
using Decommission.Contracts;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Decommission.Certificates.Apis;

/// <summary>
/// The operator's campaigns: start, pause, resume, abort, approve and refuse (operators), list and read (operators and
/// auditors). Every order goes to the orchestrator with the API key's name and id — the orchestrator takes campaign orders
/// from this service only, so two-person approval compares authenticated people, not names someone typed.
/// </summary>
public static class CampaignsApi
{
    public static IEndpointRouteBuilder MapCampaignsApi(this IEndpointRouteBuilder app)
    {
        var read = app.MapGroup("/api/campaigns").RequireAuthorization(ApiRoles.ReadPolicy);
        read.MapGet("/", List).WithName("ListCampaigns");
        read.MapGet("/{id:guid}", Get).WithName("GetCampaign");
        var operate = app.MapGroup("/api/campaigns").RequireAuthorization(ApiRoles.OperatePolicy);
        operate.MapPost("/", Start).WithName("StartCampaign");
        operate.MapPost("/{id:guid}/{action}", Change).WithName("ChangeCampaign");
        // What the dashboard shows beside the campaigns: every retirement by state, and one device's whole history.
        var retirements = app.MapGroup("/api/retirements").RequireAuthorization(ApiRoles.ReadPolicy);
        retirements.MapGet("/counts", Counts).WithName("CountRetirements");
        retirements.MapGet("/devices/{deviceId}", History).WithName("DeviceRetirementHistory");
        return app;
    }

    /// <summary>A new campaign: its devices listed (<see cref="DeviceIds"/>) or selected from the inventory (<see cref="Selection"/>).</summary>
    public sealed record NewCampaign(string? Name, IReadOnlyList<string>? DeviceIds, string? Reason, double PacePerMinute, CampaignRamp? Ramp,
        IReadOnlyList<AbortCriterion>? AbortCriteria, DeviceSelection? Selection = null);

    public sealed record CampaignNote(string? Note);

    private const int CampaignSourceLength = 200;

    private static async Task<IResult> Start(NewCampaign body, ClaimsPrincipal user, IBus bus, AccessLog log, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (deviceIds, source) = (body.DeviceIds ?? [], "list");
        if (body.Selection is { } selection)
        {
            if (deviceIds.Count > 0 || selection.IsEmpty)
                return Results.Problem("either devices listed or a selection (site, model, owner or end of life by a date), not both",
                    statusCode: StatusCodes.Status400BadRequest);
            if (new[] { selection.Site, selection.Model, selection.Owner }.Any(field => field is { } text && (text.Length > 100 || text.Any(char.IsControl))))
                return Results.Problem("a selection's site, model and owner: at most 100 characters each, no control characters",
                    statusCode: StatusCodes.Status400BadRequest);
            var selected = (await Client<SelectDevices>(bus).GetResponse<SelectedDevices>(new SelectDevices { Selection = selection, Limit = 100_000 },
                cancellationToken)).Message;
            if (selected.DeviceIds.Count == 0)
                return Results.Problem($"the selection ({selection}) matches no active device that is not on legal hold ({selected.Held} on hold)",
                    statusCode: StatusCodes.Status400BadRequest);
            if (selected.Total > selected.DeviceIds.Count)
                return Results.Problem($"the selection ({selection}) matches {selected.Total} devices; narrow it", statusCode: StatusCodes.Status400BadRequest);
            (deviceIds, source) = (selected.DeviceIds, $"selection: {selection}" + (selected.Held > 0 ? $" ({selected.Held} on legal hold left out)" : ""));
        }
        var order = new StartCampaign
        {
            CampaignId = NewId.NextGuid(),
            Name = body.Name?.Trim() ?? "",
            DeviceIds = deviceIds,
            Source = source.Length > CampaignSourceLength ? source[..CampaignSourceLength] : source,
            Reason = body.Reason?.Trim() ?? "",
            PacePerMinute = body.PacePerMinute,
            Ramp = body.Ramp,
            AbortCriteria = body.AbortCriteria ?? [],
            RequestedBy = user.Identity!.Name!,
            RequestedByKey = user.FindFirstValue(ApiKeyAuthenticationHandler.KeyIdClaim)!,
            RequestedAt = clock.GetUtcNow(),
        };
        var answer = await Client<StartCampaign>(bus).GetResponse<CampaignView, CampaignCommandRefused>(order, cancellationToken);
        if (answer.Is(out Response<CampaignCommandRefused>? refused))
        {
            await log.WriteAsync(user, "start-campaign", null, $"refused: {refused.Message.Reason}", cancellationToken);
            return Results.Problem(refused.Message.Reason, statusCode: StatusCodes.Status400BadRequest);
        }
        answer.Is(out Response<CampaignView>? view);
        await log.WriteAsync(user, "start-campaign", view!.Message.CampaignId.ToString(), view.Message.State, cancellationToken);
        return Results.Created($"/api/campaigns/{view.Message.CampaignId}", view.Message);
    }

    private static async Task<IResult> Change(Guid id, string action, CampaignNote? body, ClaimsPrincipal user, IBus bus, AccessLog log,
        CancellationToken cancellationToken)
    {
        if (!CampaignActions.All.Contains(action))
            return Results.NotFound();
        var answer = await Client<ChangeCampaign>(bus).GetResponse<CampaignView, CampaignCommandRefused>(new ChangeCampaign
        {
            CampaignId = id,
            Action = action,
            RequestedBy = user.Identity!.Name!,
            RequestedByKey = user.FindFirstValue(ApiKeyAuthenticationHandler.KeyIdClaim)!,
            Note = body?.Note,
        }, cancellationToken);
        if (answer.Is(out Response<CampaignCommandRefused>? refused))
        {
            await log.WriteAsync(user, $"{action}-campaign", id.ToString(), $"refused: {refused.Message.Reason}", cancellationToken);
            return refused.Message.Reason == "no such campaign"
                ? Results.NotFound()
                : Results.Problem(refused.Message.Reason, statusCode: StatusCodes.Status409Conflict);
        }
        answer.Is(out Response<CampaignView>? view);
        await log.WriteAsync(user, $"{action}-campaign", id.ToString(), view!.Message.State, cancellationToken);
        return Results.Ok(view.Message);
    }

    private static async Task<IResult> Get(Guid id, IBus bus, CancellationToken cancellationToken)
    {
        var answer = await Client<GetCampaign>(bus).GetResponse<CampaignView, CampaignNotFound>(new GetCampaign { CampaignId = id }, cancellationToken);
        return answer.Is(out Response<CampaignView>? view) ? Results.Ok(view.Message) : Results.NotFound();
    }

    private static async Task<IResult> List(IBus bus, int? limit, CancellationToken cancellationToken)
    {
        var answer = await Client<ListCampaigns>(bus).GetResponse<CampaignList>(new ListCampaigns { Limit = Math.Clamp(limit ?? 50, 1, 200) }, cancellationToken);
        return Results.Ok(answer.Message);
    }

    private static async Task<IResult> Counts(IBus bus, CancellationToken cancellationToken) =>
        Results.Ok((await Client<CountRetirements>(bus).GetResponse<RetirementCounts>(new CountRetirements(), cancellationToken)).Message);

    private static async Task<IResult> History(string deviceId, IBus bus, CancellationToken cancellationToken)
    {
        if (deviceId.Length is 0 or > 64 || deviceId.Any(char.IsControl))
            return Results.Problem("a device id of 1 to 64 characters", statusCode: StatusCodes.Status400BadRequest);
        var answer = await Client<GetRetirementStatus>(bus).GetResponse<RetirementStatus, RetirementNotFound>(new GetRetirementStatus { DeviceId = deviceId }, cancellationToken);
        return answer.Is(out Response<RetirementStatus>? status) ? Results.Ok(status.Message) : Results.NotFound();
    }

    private static IRequestClient<T> Client<T>(IBus bus) where T : class => bus.ExchangeRequestClient<T>();
}
