using System.Security.Claims;
using Decommission.Contracts;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Decommission.Certificates.Apis;

/// <summary>
/// The operator's single-device orders and the end-of-life notice: retire one device, retry or cancel its retirement
/// (operators), the devices due in the next days (operators and auditors), and legal holds on them (operators). Each order
/// goes out with the API key's name as its requester, and is written to the access log.
/// </summary>
public static class RetirementsApi
{
    public const int MaxTextLength = 200;

    public static IEndpointRouteBuilder MapRetirementsApi(this IEndpointRouteBuilder app)
    {
        var operate = app.MapGroup("/api").RequireAuthorization(ApiRoles.OperatePolicy);
        operate.MapPost("/retirements", Retire).WithName("RetireDevice");
        operate.MapPost("/retirements/{id:guid}/retry", Retry).WithName("RetryRetirement");
        operate.MapPost("/retirements/{id:guid}/cancel", Cancel).WithName("CancelRetirement");
        operate.MapPost("/devices/{deviceId}/hold", (string deviceId, Order? body, ClaimsPrincipal user, IBus bus, AccessLog log, CancellationToken ct) =>
            Hold(deviceId, true, body, user, bus, log, ct)).WithName("HoldDevice");
        operate.MapPost("/devices/{deviceId}/release", (string deviceId, Order? body, ClaimsPrincipal user, IBus bus, AccessLog log, CancellationToken ct) =>
            Hold(deviceId, false, body, user, bus, log, ct)).WithName("ReleaseDevice");
        app.MapGet("/api/end-of-life", Due).RequireAuthorization(ApiRoles.ReadPolicy).WithName("EndOfLifeNotice");
        return app;
    }

    public sealed record NewRetirement(string? DeviceId, string? Reason);

    public sealed record Order(string? Reason);

    private static async Task<IResult> Retire(NewRetirement body, ClaimsPrincipal user, IBus bus, AccessLog log, TimeProvider clock, CancellationToken cancellationToken)
    {
        var deviceId = body.DeviceId?.Trim() ?? "";
        var reason = body.Reason?.Trim() ?? "";
        if (!DeviceIdRule.IsValid(deviceId) || !IsText(reason, required: true))
            return Results.Problem($"a device id ({DeviceIdRule.Description}) and a reason of 1 to {MaxTextLength} characters",
                statusCode: StatusCodes.Status400BadRequest);
        var submitted = (await bus.ExchangeRequestClient<RetireDevice>().GetResponse<RetirementSubmitted>(new RetireDevice
        {
            DeviceId = deviceId, Reason = reason, RequestedBy = user.Identity!.Name!, RequestedAt = clock.GetUtcNow(),
        }, cancellationToken)).Message;
        await log.WriteAsync(user, "retire-device", deviceId, $"{submitted.RetirementId} {submitted.State}", cancellationToken);
        return Results.Accepted($"/api/retirements/devices/{deviceId}", submitted);
    }

    private static Task<IResult> Retry(Guid id, Order? body, ClaimsPrincipal user, IBus bus, AccessLog log, CancellationToken cancellationToken) =>
        Command<RetryRetirement, RetirementRetried>(id, body, "retry-retirement", (by, reason) => new RetryRetirement { RetirementId = id, RequestedBy = by, Reason = reason },
            user, bus, log, cancellationToken);

    private static Task<IResult> Cancel(Guid id, Order? body, ClaimsPrincipal user, IBus bus, AccessLog log, CancellationToken cancellationToken) =>
        Command<CancelRetirement, RetirementCancelled>(id, body, "cancel-retirement", (by, reason) => new CancelRetirement { RetirementId = id, RequestedBy = by, Reason = reason },
            user, bus, log, cancellationToken);

    /// <summary>An order on one retirement, in the key owner's name: done, refused for the retirement's state (409), or no such retirement (404).</summary>
    private static async Task<IResult> Command<TOrder, TDone>(Guid id, Order? body, string action, Func<string, string, TOrder> order, ClaimsPrincipal user,
        IBus bus, AccessLog log, CancellationToken cancellationToken) where TOrder : class where TDone : class
    {
        if (!IsText(body?.Reason, required: false))
            return Results.Problem($"a reason of at most {MaxTextLength} characters", statusCode: StatusCodes.Status400BadRequest);
        var answer = await bus.ExchangeRequestClient<TOrder>().GetResponse<TDone, RetirementCommandRefused, RetirementNotFound>(
            order(user.Identity!.Name!, body?.Reason?.Trim() ?? ""), cancellationToken);
        return await Answered(answer, action, id, user, log, cancellationToken);
    }

    private static async Task<IResult> Answered<TDone>(Response<TDone, RetirementCommandRefused, RetirementNotFound> answer, string action, Guid id,
        ClaimsPrincipal user, AccessLog log, CancellationToken cancellationToken) where TDone : class
    {
        if (answer.Is(out Response<RetirementCommandRefused>? refused))
        {
            await log.WriteAsync(user, action, id.ToString(), $"refused: {refused.Message.Reason}", cancellationToken);
            return Results.Problem($"{refused.Message.Reason} (the retirement is {refused.Message.State})", statusCode: StatusCodes.Status409Conflict);
        }
        if (answer.Is(out Response<RetirementNotFound>? _))
            return Results.NotFound();
        answer.Is(out Response<TDone>? done);
        await log.WriteAsync(user, action, id.ToString(), "done", cancellationToken);
        return Results.Ok(done!.Message);
    }

    private static async Task<IResult> Hold(string deviceId, bool hold, Order? body, ClaimsPrincipal user, IBus bus, AccessLog log, CancellationToken cancellationToken)
    {
        var reason = body?.Reason?.Trim() ?? "";
        if (!DeviceIdRule.IsValid(deviceId) || !IsText(reason, required: hold))
            return Results.Problem($"a device id and{(hold ? "" : " optionally")} a reason of {(hold ? 1 : 0)} to {MaxTextLength} characters",
                statusCode: StatusCodes.Status400BadRequest);
        var set = (await bus.ExchangeRequestClient<SetLegalHold>().GetResponse<LegalHoldSet>(new SetLegalHold
        {
            DeviceId = deviceId, Hold = hold, Reason = reason, RequestedBy = user.Identity!.Name!,
        }, cancellationToken)).Message;
        await log.WriteAsync(user, hold ? "hold-device" : "release-device", deviceId, set.Found ? "done" : "no such device", cancellationToken);
        return set.Found ? Results.Ok(set) : Results.NotFound();
    }

    private static async Task<IResult> Due(IBus bus, int? days, int? limit, CancellationToken cancellationToken) =>
        Results.Ok((await bus.ExchangeRequestClient<PreviewEndOfLife>().GetResponse<EndOfLifePreview>(new PreviewEndOfLife
        {
            Days = Math.Clamp(days ?? 30, 0, 3650), Limit = Math.Clamp(limit ?? 200, 1, 1000),
        }, cancellationToken)).Message);

    private static bool IsText(string? text, bool required) =>
        string.IsNullOrWhiteSpace(text) ? !required : text.Trim().Length <= MaxTextLength && !text.Any(char.IsControl);
}
