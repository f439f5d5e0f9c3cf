using Decommission.Contracts;
using Decommission.Inventory.Devices;

namespace Decommission.Inventory.Tests;

/// <summary>The admission rule alone: no database, no bus.</summary>
public sealed class RetirementAdmissionTests
{
    private static readonly Guid Retirement = Guid.NewGuid();

    private static InventoryDevice Device(string status = DeviceStatuses.Active, bool held = false, string holdReason = "", Guid? retiredBy = null) =>
        new("dev-1", "Acme", "TH-200", "SN-1", "A-1", "eMMC", "Ops", "Lyon", held, holdReason, status, retiredBy?.ToString());

    [Fact]
    public void An_active_device_without_hold_is_admitted() =>
        Assert.Null(RetirementAdmission.Decide("dev-1", Retirement, Device()));

    [Fact]
    public void An_unknown_device_is_refused_as_unknown()
    {
        var refusal = RetirementAdmission.Decide("ghost", Retirement, null);

        Assert.Equal(RefusalReasons.UnknownDevice, refusal?.Reason);
        Assert.Contains("ghost", refusal!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_disposed_device_is_refused_even_when_also_held() =>
        Assert.Equal(RefusalReasons.AlreadyDisposed, RetirementAdmission.Decide("dev-1", Retirement, Device(DeviceStatuses.Disposed, held: true))?.Reason);

    [Fact]
    public void A_held_device_is_refused_with_the_hold_reason()
    {
        var refusal = RetirementAdmission.Decide("dev-1", Retirement, Device(held: true, holdReason: "litigation 42 (by legal)"));

        Assert.Equal(RefusalReasons.LegalHold, refusal?.Reason);
        Assert.Contains("litigation 42 (by legal)", refusal!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_held_device_is_refused_even_by_the_retirement_retiring_it() =>
        Assert.Equal(RefusalReasons.LegalHold, RetirementAdmission.Decide("dev-1", Retirement, Device(DeviceStatuses.Retiring, held: true, retiredBy: Retirement))?.Reason);

    [Fact]
    public void A_device_another_retirement_is_retiring_is_refused_naming_it()
    {
        var other = Guid.NewGuid();
        var refusal = RetirementAdmission.Decide("dev-1", Retirement, Device(DeviceStatuses.Retiring, retiredBy: other));

        Assert.Equal(RefusalReasons.AlreadyRetiring, refusal?.Reason);
        Assert.Contains(other.ToString(), refusal!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void The_retirement_already_retiring_the_device_is_admitted_again() =>
        Assert.Null(RetirementAdmission.Decide("dev-1", Retirement, Device(DeviceStatuses.Retiring, retiredBy: Retirement)));

    [Theory]
    [InlineData(DeviceStatuses.Failed)]
    [InlineData(DeviceStatuses.Active)]
    public void A_device_whose_earlier_retirement_failed_or_was_cancelled_is_admitted(string status) =>
        Assert.Null(RetirementAdmission.Decide("dev-1", Retirement, Device(status, retiredBy: Guid.NewGuid())));
}
