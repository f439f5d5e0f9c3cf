using Decommission.Contracts;
using MassTransit;

namespace Decommission.Certificates.Issuing;

/// <summary>Takes the saga's issue order: announces the certificate (again, for a redelivered order) or why none was issued.</summary>
public sealed class IssueDisposalCertificateConsumer(CertificateIssuer issuer, TimeProvider clock) : IConsumer<IssueDisposalCertificate>
{
    public async Task Consume(ConsumeContext<IssueDisposalCertificate> context)
    {
        var outcome = await issuer.IssueAsync(context.Message, context.CancellationToken);
        if (outcome.Certificate is not { } record)
        {
            await context.Publish(new DisposalCertificateRefused
            {
                RetirementId = context.Message.RetirementId,
                DeviceId = context.Message.DeviceId,
                Reason = outcome.Reason,
                Detail = outcome.Detail,
                RefusedAt = clock.GetUtcNow(),
            });
            return;
        }
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
