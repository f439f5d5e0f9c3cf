using Dapper;
using Decommission.Contracts;
using MassTransit;

namespace Decommission.Inventory.Devices;

/// <summary>
/// The inventory's side of a retirement: it confirms or refuses the request (with the device's snapshot or a reason),
/// then follows the retirement's events to keep the device's status (Retiring, Disposed, Failed, back to Active).
/// </summary>
public sealed class RetirementFollower(InventoryDatabase database, TimeProvider clock) :
    IConsumer<RetirementRequested>, IConsumer<DeviceDecommissioned>, IConsumer<RetirementFailed>, IConsumer<RetirementCancelled>, IConsumer<RetirementRetried>
{
    public async Task Consume(ConsumeContext<RetirementRequested> context)
    {
        var request = context.Message;
        var (device, refusal) = await database.Writes.WriteAsync<(DeviceRow?, (string Reason, string Detail)?)>(async (connection, transaction) =>
        {
            var device = await connection.QuerySingleOrDefaultAsync<DeviceRow>("""
                SELECT device_id AS DeviceId, manufacturer AS Manufacturer, model AS Model, serial_number AS SerialNumber, asset_number AS AssetNumber,
                       media_type AS MediaType, owner AS Owner, site AS Site, legal_hold AS LegalHold, hold_reason AS HoldReason, status AS Status,
                       retirement_id AS RetirementId
                FROM devices WHERE device_id = @DeviceId;
                """, new { request.DeviceId }, transaction);

            (string, string)? refusal = device switch
            {
                null => (RefusalReasons.UnknownDevice, $"device {request.DeviceId} is not in the inventory"),
                { Status: "Disposed" } => (RefusalReasons.AlreadyDisposed, $"device {request.DeviceId} was already disposed of"),
                { LegalHold: not 0 } => (RefusalReasons.LegalHold, $"device {request.DeviceId} is under legal hold: {device.HoldReason}"),
                { Status: "Retiring" } when device.RetirementId != request.RetirementId.ToString() =>
                    (RefusalReasons.AlreadyRetiring, $"device {request.DeviceId} is being retired by {device.RetirementId}"),
                _ => null,
            };
            if (refusal is null)
            {
                await connection.ExecuteAsync(
                    "UPDATE devices SET status = 'Retiring', retirement_id = @RetirementId, updated_at = @Now WHERE device_id = @DeviceId;",
                    new { RetirementId = request.RetirementId.ToString(), Now = clock.GetUtcNow().ToString("O"), request.DeviceId }, transaction);
            }
            return (device, refusal);
        });
        if (refusal is { } reason)
        {
            await context.Publish(new RetirementRefused { RetirementId = request.RetirementId, DeviceId = request.DeviceId, Reason = reason.Reason, Detail = reason.Detail });
            return;
        }

        await context.Publish(new RetirementAccepted
        {
            RetirementId = request.RetirementId,
            DeviceId = request.DeviceId,
            Device = new DeviceSnapshot
            {
                Manufacturer = device!.Manufacturer, Model = device.Model, SerialNumber = device.SerialNumber, AssetNumber = device.AssetNumber,
                MediaType = device.MediaType, Owner = device.Owner, Site = device.Site,
            },
        });
    }

    public Task Consume(ConsumeContext<DeviceDecommissioned> context) => SetStatus(context.Message.RetirementId, context.Message.DeviceId, "Disposed");

    // A refusal happens before the device was marked Retiring, so only failures after acceptance change the status.
    public Task Consume(ConsumeContext<RetirementFailed> context) =>
        context.Message.FailedIn == RetirementStates.Requested ? Task.CompletedTask : SetStatus(context.Message.RetirementId, context.Message.DeviceId, "Failed");

    public Task Consume(ConsumeContext<RetirementCancelled> context) => SetStatus(context.Message.RetirementId, context.Message.DeviceId, "Active");

    public Task Consume(ConsumeContext<RetirementRetried> context) => SetStatus(context.Message.RetirementId, context.Message.DeviceId, "Retiring");

    private async Task SetStatus(Guid retirementId, string deviceId, string status)
    {
        // Only the retirement that holds the device may move it: a stale event of an older retirement changes nothing.
        await database.Writes.WriteAsync((connection, transaction) => connection.ExecuteAsync("""
            UPDATE devices SET status = @Status, updated_at = @Now WHERE device_id = @DeviceId AND retirement_id = @RetirementId;
            """, new { Status = status, Now = clock.GetUtcNow().ToString("O"), DeviceId = deviceId, RetirementId = retirementId.ToString() }, transaction));
    }

    private sealed record DeviceRow(string DeviceId, string Manufacturer, string Model, string SerialNumber, string AssetNumber, string MediaType,
        string Owner, string Site, long LegalHold, string HoldReason, string Status, string? RetirementId);
}
