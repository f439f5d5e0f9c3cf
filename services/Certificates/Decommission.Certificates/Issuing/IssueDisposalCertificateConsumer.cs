using Decommission.Contracts;
using MassTransit;

namespace Decommission.Certificates.Issuing;

/// <summary>Takes the saga's issue order; a redelivered order announces the certificate already issued.</summary>
public sealed class IssueDisposalCertificateConsumer(CertificateIssuer issuer) : IConsumer<IssueDisposalCertificate>
{
    public async Task Consume(ConsumeContext<IssueDisposalCertificate> context)
    {
        var record = await issuer.IssueAsync(context.Message, context.CancellationToken);
        await context.Publish(new DisposalCertificateIssued
        {
            RetirementId = record.RetirementId,
            DeviceId = record.DeviceId,
            CertificateId = record.CertificateId,
            PdfSha256 = record.PdfSha256,
            IssuedAt = record.IssuedAt,
        });
    }
}
