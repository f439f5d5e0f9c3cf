using System.Diagnostics.Metrics;
using System.Formats.Asn1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Decommission.Credentials.Revocation;

/// <summary>
/// The credentials service's meter: the size of the published CRL (entries and bytes), read from the file relying parties
/// get, so it is what they see, whichever process issued it. The file is parsed again only when it changed.
/// </summary>
public sealed class CrlMetrics : IHostedService
{
    public const string MeterName = "Decommission.Credentials";

    private readonly CrlPublisher _crls;
    private readonly Lock _gate = new();
    private (DateTime WrittenAt, long Bytes, long Entries)? _last;

    public CrlMetrics(IMeterFactory meters, CrlPublisher crls)
    {
        _crls = crls;
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge<long>("decommission.crl.entries", () => Read() is { } crl ? [new Measurement<long>(crl.Entries)] : Array.Empty<Measurement<long>>(),
            "{certificate}", "Revoked identity certificates listed in the published CRL.");
        meter.CreateObservableGauge<long>("decommission.crl.size", () => Read() is { } crl ? [new Measurement<long>(crl.Bytes)] : Array.Empty<Measurement<long>>(),
            "By", "Size of the published CRL (DER) that relying parties download.");
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private (DateTime WrittenAt, long Bytes, long Entries)? Read()
    {
        var file = new FileInfo(_crls.CrlPath);
        if (!file.Exists)
            return null;
        lock (_gate)
        {
            if (_last is { } known && known.WrittenAt == file.LastWriteTimeUtc && known.Bytes == file.Length)
                return known;
            try
            {
                var der = File.ReadAllBytes(file.FullName);
                _last = (file.LastWriteTimeUtc, der.LongLength, CountEntries(der));
            }
            catch (Exception e) when (e is IOException or AsnContentException)
            {
                // Replaced while read (write-then-rename): the next collection reads the new one.
            }
            return _last;
        }
    }

    /// <summary>RFC 5280 §5.1: CertificateList → TBSCertList → revokedCertificates (absent when empty).</summary>
    internal static long CountEntries(byte[] der)
    {
        var tbs = new AsnReader(der, AsnEncodingRules.DER).ReadSequence().ReadSequence();
        if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
            tbs.ReadInteger();                  // version
        tbs.ReadSequence();                     // signature algorithm
        tbs.ReadSequence();                     // issuer
        tbs.ReadEncodedValue();                 // thisUpdate
        if (tbs.HasData && IsTime(tbs.PeekTag()))
            tbs.ReadEncodedValue();             // nextUpdate
        if (!tbs.HasData || !tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
            return 0;
        var revoked = tbs.ReadSequence();
        long entries = 0;
        for (; revoked.HasData; entries++)
            revoked.ReadEncodedValue();
        return entries;
    }

    private static bool IsTime(Asn1Tag tag) => tag.HasSameClassAndValue(Asn1Tag.UtcTime) || tag.HasSameClassAndValue(Asn1Tag.GeneralizedTime);
}

public static class CrlMetricsExtensions
{
    /// <summary>The CRL gauges; a hosted service only so the host creates them at start, before the first collection.</summary>
    public static IHostApplicationBuilder AddCrlMetrics(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<CrlMetrics>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CrlMetrics>());
        return builder;
    }
}
