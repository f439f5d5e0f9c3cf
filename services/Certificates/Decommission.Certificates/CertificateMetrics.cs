using System.Diagnostics.Metrics;

namespace Decommission.Certificates;

/// <summary>The certificates service's meter: disposal certificates issued, by sanitization type (a re-announced one is not counted), and PDFs signed.</summary>
public sealed class CertificateMetrics
{
    public const string MeterName = "Decommission.Certificates";

    private readonly Counter<long> _issued;
    private readonly Counter<long> _signed;

    public CertificateMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _issued = meter.CreateCounter<long>("decommission.certificates.issued", "{certificate}", "Disposal certificates issued, by sanitization type.");
        _signed = meter.CreateCounter<long>("decommission.certificates.signed", "{certificate}",
            "Certificate PDFs rendered and signed (the CPU an issue costs), including any not stored after all.");
    }

    public void Signed() => _signed.Add(1);

    public void Issued(string sanitizationType) =>
        _issued.Add(1, new KeyValuePair<string, object?>("sanitization_type", sanitizationType));
}
