using System.Diagnostics.Metrics;

namespace Decommission.Certificates;

/// <summary>The certificates service's meter: disposal certificates issued, by sanitization type (a re-announced one is not counted).</summary>
public sealed class CertificateMetrics
{
    public const string MeterName = "Decommission.Certificates";

    private readonly Counter<long> _issued;

    public CertificateMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _issued = meter.CreateCounter<long>("decommission.certificates.issued", "{certificate}", "Disposal certificates issued, by sanitization type.");
    }

    public void Issued(string sanitizationType) =>
        _issued.Add(1, new KeyValuePair<string, object?>("sanitization_type", sanitizationType));
}
