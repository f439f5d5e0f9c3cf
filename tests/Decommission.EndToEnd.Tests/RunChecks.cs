using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Decommission.Contracts;
using Decommission.DeviceAgent;
using Decommission.Testing;

namespace Decommission.EndToEnd.Tests;

/// <summary>What the end-to-end runs check the same way: states from decom list, certificates from the auditor API, the CRL.</summary>
internal static partial class RunChecks
{
    // How each behaviour ends: Completed, or Failed with this in its failure.
    internal static readonly Dictionary<DeviceBehaviour, string?> ExpectedFailure = new()
    {
        [DeviceBehaviour.Healthy] = null, [DeviceBehaviour.Slow] = null, [DeviceBehaviour.OfflineUntil] = null,
        [DeviceBehaviour.NeverAnswers] = FailureReasons.DeviceUnreachable,
        [DeviceBehaviour.EraseFails] = ReceiptRejectionReasons.DeviceReportedFailure,
        [DeviceBehaviour.SignsWithWrongKey] = ReceiptRejectionReasons.UnregisteredKey,
        [DeviceBehaviour.ReplaysOldReceipt] = ReceiptRejectionReasons.Replay,
    };

    // The runs' settings: short timings so that unreachable devices fail within the test (5 s per attempt, a minute in all).
    internal static readonly Dictionary<string, string> Settings = new()
    {
        ["Retirement__EraseAttempts"] = "12",
        ["Retirement__EraseAttemptTimeout"] = "00:00:05",
        ["Retirement__EraseBackoffMultiplier"] = "1",
        ["Retirement__EraseDeadline"] = "00:01:00",
        ["Retirement__RedriveInterval"] = "00:00:05",
        ["Orchestrator__SweepInterval"] = "00:00:00.500",
        ["DeviceAgent__OfflineFor"] = "00:00:20",
        ["DeviceAgent__SlowDelay"] = "00:00:02",
        ["DeviceAgent__IdPrefix"] = "sim-",
        ["Logging__LogLevel__MassTransit"] = "Warning",
    };

    /// <summary>Every device ended as its behaviour dictates (a failure's reason read with decom status); the disposed ones.</summary>
    internal static async Task<HashSet<string>> AssertEndingsAsync(DistributedRun run, Dictionary<string, DeviceBehaviour> fleet,
        Dictionary<string, Row> final)
    {
        foreach (var (deviceId, behaviour) in fleet)
        {
            var row = final[deviceId];
            if (ExpectedFailure[behaviour] is not { } reason)
            {
                Assert.True(row.State == "Completed", $"{deviceId} ({behaviour}) is {row.State} {row.Failure}");
                continue;
            }
            Assert.True(row.State == "Failed", $"{deviceId} ({behaviour}) is {row.State}, expected Failed with {reason}");
            var status = await Decom(run, "status", deviceId);
            Assert.Contains(reason, Tables.Fact(status.Out, "Failure") ?? "");
        }
        return fleet.Keys.Where(id => final[id].State == "Completed").ToHashSet();
    }

    /// <summary>
    /// Exactly one certificate per disposed device, listed, downloaded and verified through the auditor API at
    /// <paramref name="apiUrl"/>; each one's identity certificate serial, by device.
    /// </summary>
    internal static async Task<Dictionary<string, string>> AssertCertificatesAsync(DistributedRun run, string apiUrl, HashSet<string> disposed)
    {
        using var api = new HttpClient { BaseAddress = new Uri(apiUrl) };
        api.DefaultRequestHeaders.Add("X-Api-Key", run.Operator["DECOM_API_KEY"]);
        var certificates = await ListCertificatesAsync(api);
        Assert.Equal(disposed.Order(), certificates.Select(c => c.DeviceId).Order());
        var serials = new Dictionary<string, string>();
        foreach (var certificate in certificates)
        {
            var pdf = await api.GetByteArrayAsync($"/api/certificates/{certificate.CertificateId}/pdf");
            using var body = new ByteArrayContent(pdf);
            body.Headers.ContentType = new MediaTypeHeaderValue("application/pdf");
            var verdict = await (await api.PostAsync("/api/certificates/verify", body)).Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(verdict.GetProperty("verdict").GetString() == "valid", $"{certificate.CertificateId}: {verdict}");
            using var json = JsonDocument.Parse(await api.GetByteArrayAsync($"/api/certificates/{certificate.CertificateId}"));
            serials[certificate.DeviceId] = Find(json.RootElement, "identityCertificateSerial")
                ?? throw new InvalidOperationException($"{certificate.CertificateId} names no identity certificate");
        }
        return serials;
    }

    internal sealed record Row(string State, string Failure);

    internal sealed record CertificateItem(string CertificateId, string DeviceId);

    internal sealed record CertificatePage(List<CertificateItem> Items, string? NextCursor);

    internal static Task<DecomRun> Decom(DistributedRun run, params string[] args) =>
        Testing.Decom.Run(run.Operator, args);

    internal static void Ok(DecomRun run, string expected) =>
        Assert.True(run.ExitCode == 0 && run.Out.Contains(expected), $"expected \"{expected}\":\n{run}");

    /// <summary>Polls decom list until <paramref name="done"/> holds; the latest retirement per device.</summary>
    internal static Task<Dictionary<string, Row>> WaitFor(DistributedRun run, Func<Dictionary<string, Row>, bool> done, TimeSpan timeout)
    {
        var states = new Dictionary<string, Row>();
        return Eventually.Get(async () =>
        {
            var list = await Decom(run, "list", "--limit", "1000");
            // Most recently changed first: the first row of a device is its latest retirement.
            if (list.ExitCode == 0)
                states = Tables.Rows(list.Out).Where(r => r.Length == 6 && r[0] != "Retirement")
                    .GroupBy(r => r[1]).ToDictionary(g => g.Key, g => new Row(g.First()[2], g.First()[4]));
            return states;
        }, done, "the run to get there", timeout, TimeSpan.FromSeconds(1),
            last => "states: " + string.Join(", ", last.Values.GroupBy(s => s.State).Select(g => $"{g.Count()} {g.Key}")));
    }

    internal static async Task<List<CertificateItem>> ListCertificatesAsync(HttpClient api)
    {
        var all = new List<CertificateItem>();
        string? cursor = null;
        do
        {
            var page = await api.GetFromJsonAsync<CertificatePage>($"/api/certificates?limit=200{(cursor is null ? "" : $"&cursor={cursor}")}",
                new JsonSerializerOptions(JsonSerializerDefaults.Web));
            all.AddRange(page!.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return all;
    }

    /// <summary>The CRL as any relying party reads it: downloaded from the public endpoint, checked and listed with openssl.</summary>
    internal static async Task<HashSet<string>> RevokedSerialsAsync(DistributedRun run, string work, string? url = null)
    {
        using var http = new HttpClient();
        var crl = Path.Combine(work, "fleet.crl");
        await File.WriteAllBytesAsync(crl, await http.GetByteArrayAsync(url ?? run.Operator["DECOM_CRL"]));
        var ca = Directory.GetFiles(Path.Combine(run.RunDirectory, "credentials", "data"), "*.pem", SearchOption.AllDirectories)
            .Single(path => Path.GetFileName(path) == "fleet-ca.pem");
        var text = await run.ScriptAsync(TimeSpan.FromSeconds(30), "openssl", "crl", "-inform", "DER", "-in", crl, "-CAfile", ca, "-text", "-noout");
        return SerialPattern().Matches(text).Select(m => Normalise(m.Groups[1].Value)).ToHashSet();
    }

    internal static string Normalise(string serial) => serial.Replace(":", "").TrimStart('0').ToUpperInvariant();

    internal static string? Find(JsonElement element, string name)
    {
        if (element.ValueKind == JsonValueKind.Object)
            foreach (var property in element.EnumerateObject())
                if ((property.NameEquals(name) ? property.Value.GetString() : Find(property.Value, name)) is { } found)
                    return found;
        return null;
    }


    [GeneratedRegex(@"Serial Number:\s*([0-9A-Fa-f:]+)")]
    internal static partial Regex SerialPattern();
}
