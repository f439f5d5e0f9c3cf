using Decommission.Certificates.Issuing;
using Decommission.DeviceProtocol;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Decommission.Certificates.Tests.Evidence;

/// <summary>Certificates:MaxClockSkew is the allowance the service re-verifies evidence with, so it can follow the gateway's.</summary>
public sealed class ClockSkewSettingTests : IDisposable
{
    private const string Device = "meter-0042";
    private readonly EvidenceFactory _fleet = new();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"skew-{Guid.NewGuid():N}");

    public void Dispose()
    {
        _fleet.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void A_receipt_three_minutes_past_its_command_is_refused_by_default_and_accepted_with_five_minutes()
    {
        var at = DateTimeOffset.UtcNow;
        // The command expires 10 minutes after `at`: this receipt is 3 minutes late by the device's clock.
        var evidence = _fleet.Evidence(Device, receipt: r => r with { CompletedAt = ProtocolSigning.Timestamp(at.AddMinutes(13)) }, at: at);
        var retirement = EvidenceFactory.RetirementOf(evidence);

        using var byDefault = Trust(maxClockSkew: null);
        var (refused, problem) = byDefault.Verify(evidence, Device, retirement);
        Assert.Null(refused);
        Assert.Equal(WipeEvidenceChecks.OutsideCommandWindow, problem!.Check);

        using var widened = Trust(maxClockSkew: "00:05:00");
        var (accepted, none) = widened.Verify(evidence, Device, retirement);
        Assert.True(none is null, none?.Detail);
        Assert.Equal(Device, accepted!.Receipt.DeviceId);
    }

    /// <summary>The evidence trust with its options bound from the "Certificates" section, as the service binds them.</summary>
    private EvidenceTrust Trust(string? maxClockSkew)
    {
        var (fleetCa, commandKey) = _fleet.WriteTrustFiles(_directory);
        var settings = new Dictionary<string, string?>
        {
            [$"{CertificatesOptions.Section}:FleetCaCertificatePath"] = fleetCa,
            [$"{CertificatesOptions.Section}:CommandSigningPublicKeyPath"] = commandKey,
        };
        if (maxClockSkew is not null)
            settings[$"{CertificatesOptions.Section}:MaxClockSkew"] = maxClockSkew;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new EvidenceTrust(Options.Create(configuration.GetSection(CertificatesOptions.Section).Get<CertificatesOptions>()!));
    }
}
