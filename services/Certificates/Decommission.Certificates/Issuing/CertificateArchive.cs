namespace Decommission.Certificates.Issuing;

/// <summary>
/// Where issued certificates' bytes (the signed PDF, its JSON twin) are kept, and how the issues of one retirement are kept
/// apart, on the engine the service's database runs on: files beside a SQLite database (<see cref="FileCertificateArchive"/>:
/// one process), or the PostgreSQL database itself (<see cref="DatabaseCertificateArchive"/>: any number of replicas). Either
/// way a listed certificate has its bytes, and a retirement has one certificate.
/// </summary>
public abstract class CertificateArchive
{
    /// <summary>Before anything is stored, once per process: removes what interrupted issues left; returns what it removed.</summary>
    public abstract Task<IReadOnlyList<string>> RecoverAsync();

    /// <summary>The retirement's certificate, if it was issued whole.</summary>
    public abstract Task<CertificateRecord?> FindIssuedAsync(Guid retirementId, CancellationToken cancellationToken);

    /// <summary>
    /// The right to issue the retirement's certificate: held by one issue at a time, across every process that shares the
    /// store, until disposed. Look for the certificate again once it is held: the previous holder may have issued it.
    /// </summary>
    public abstract Task<IssueLease> BeginIssueAsync(Guid retirementId, CancellationToken cancellationToken);

    /// <summary>The certificate's signed PDF, byte for byte.</summary>
    public abstract Task<byte[]> ReadPdfAsync(CertificateRecord certificate, CancellationToken cancellationToken);

    /// <summary>The certificate's JSON twin, byte for byte.</summary>
    public abstract Task<byte[]> ReadJsonAsync(CertificateRecord certificate, CancellationToken cancellationToken);
}

/// <summary>One issue's exclusive right to a retirement (<see cref="CertificateArchive.BeginIssueAsync"/>).</summary>
public abstract class IssueLease : IAsyncDisposable
{
    /// <summary>
    /// Stores the certificate's row and bytes so that it is listed only whole; false, with nothing stored, when another
    /// retirement certified its erase command meanwhile. <paramref name="reached"/> is called at each step on the way that
    /// this store has (<see cref="IssueStep.TemporaryFilesWritten"/>, <see cref="IssueStep.FilesStored"/>), for crash tests.
    /// </summary>
    public abstract Task<bool> StoreAsync(IssuedCertificate certificate, byte[] pdf, byte[] json, Func<IssueStep, Task> reached,
        CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}
