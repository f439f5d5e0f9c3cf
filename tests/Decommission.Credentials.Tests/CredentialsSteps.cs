using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics;
using Decommission.Contracts;
using Decommission.Testing;
using MassTransit;

namespace Decommission.Credentials.Tests;

/// <summary>What several credentials tests do: check a secret, quarantine a device, read a CRL with openssl.</summary>
public static class CredentialsSteps
{
    public static async Task<CredentialChecked> Check(CredentialsHost host, string deviceId, string secret) =>
        (await host.Harness.GetRequestClient<CheckCredential>().GetResponse<CredentialChecked>(new CheckCredential { DeviceId = deviceId, Secret = secret })).Message;

    public static async Task<DeviceQuarantined> Quarantine(CredentialsHost host, string deviceId, Guid retirementId)
    {
        var before = BusTraffic.Of<DeviceQuarantined>(host.Harness).Count;
        await host.Admit(retirementId, deviceId);
        await host.Harness.Bus.Publish(new QuarantineDevice { RetirementId = retirementId, DeviceId = deviceId });
        await Eventually.True(() => BusTraffic.Of<DeviceQuarantined>(host.Harness).Count > before, $"{deviceId} to be quarantined");
        return BusTraffic.Of<DeviceQuarantined>(host.Harness).Last(m => m.DeviceId == deviceId);
    }

    /// <summary>Enrolls devices prefix-0 … prefix-(count-1), each with an attestation key of its own.</summary>
    public static async Task<IReadOnlyList<DeviceEnrolled>> EnrollMany(CredentialsHost host, string prefix, int count)
    {
        var keys = Enumerable.Range(0, count).Select(_ => ECDsa.Create(ECCurve.NamedCurves.nistP256)).ToList();
        var (enrolled, problems) = await host.Services.GetRequiredService<Decommission.Credentials.Enrollment.DeviceEnrollment>().EnrollAsync(keys.Select((k, i) => (i + 2, new EnrollDevice
        {
            DeviceId = $"{prefix}-{i}", AttestationPublicKey = Convert.ToBase64String(k.ExportSubjectPublicKeyInfo()), NetworkSegment = "floor", RequestedBy = "test",
        })).ToList(), CancellationToken.None);
        keys.ForEach(k => k.Dispose());
        Assert.Empty(problems);
        return enrolled;
    }

    public static async Task<(int Exit, string Output)> OpenSsl(params string[] arguments)
    {
        var start = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("openssl did not start (ops/test.sh installs it)");
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output);
    }
}
