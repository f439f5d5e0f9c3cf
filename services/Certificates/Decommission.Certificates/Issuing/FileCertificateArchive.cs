using Microsoft.Extensions.Logging;

namespace Decommission.Certificates.Issuing;

/// <summary>
/// SQLite (one process, one machine): a certificate's PDF and JSON are files (<see cref="CertificateFiles"/>), in place and on
/// disk before the row names them; what a crash leaves is removed at start. The issues of one retirement are serialised in
/// this process, the only one that writes the directory.
/// </summary>
public sealed class FileCertificateArchive(CertificateFiles files, CertificateStore certificates, ILogger<FileCertificateArchive> logger) : CertificateArchive
{
    // One issue of a retirement at a time: its files have one name, and the files in place must be the ones its row describes.
    private readonly RetirementGates _issuing = new();

    public string Directory => files.Directory;

    public override Task<IReadOnlyList<string>> RecoverAsync() => files.RecoverAsync();

    public override async Task<CertificateRecord?> FindIssuedAsync(Guid retirementId, CancellationToken cancellationToken)
    {
        if (await certificates.FindByRetirementAsync(retirementId, cancellationToken) is not { } existing)
            return null;
        if (File.Exists(files.PdfPath(existing.CertificateId)) && File.Exists(files.JsonPath(existing.CertificateId)))
            return existing;
        // A row without files: written by a version that wrote the row first and crashed before the files (this one writes the
        // files first), or files lost since. Issued again: only the row is forgotten, the certificate id stays the same.
        logger.LogWarning("Certificate {CertificateId} has a row but not its files: issuing it again", existing.CertificateId);
        await certificates.DeleteAsync(retirementId);
        return null;
    }

    public override async Task<IssueLease> BeginIssueAsync(Guid retirementId, CancellationToken cancellationToken) =>
        new Lease(files, certificates, await _issuing.EnterAsync(retirementId, cancellationToken));

    public override Task<byte[]> ReadPdfAsync(CertificateRecord certificate, CancellationToken cancellationToken) =>
        File.ReadAllBytesAsync(files.PdfPath(certificate.CertificateId), cancellationToken);

    public override Task<byte[]> ReadJsonAsync(CertificateRecord certificate, CancellationToken cancellationToken) =>
        File.ReadAllBytesAsync(files.JsonPath(certificate.CertificateId), cancellationToken);

    private sealed class Lease(CertificateFiles files, CertificateStore certificates, IDisposable gate) : IssueLease
    {
        // Files first, in place and on disk, then the row: a listed certificate always has its bytes. A crash before the row
        // leaves files no row names (removed at the next start) and an unacknowledged order, which is delivered again and
        // issues the certificate whole; a crash after the row, an order answered from the row on redelivery.
        public override async Task<bool> StoreAsync(IssuedCertificate certificate, byte[] pdf, byte[] json, Func<IssueStep, Task> reached,
            CancellationToken cancellationToken)
        {
            var id = certificate.CertificateId;
            var staged = await files.StageAsync(id, pdf, json, cancellationToken);
            try
            {
                await reached(IssueStep.TemporaryFilesWritten);
                staged.PutInPlace();
            }
            catch
            {
                staged.Discard();
                throw;
            }
            await reached(IssueStep.FilesStored);

            if (await certificates.AddAsync(certificate with { PdfPath = files.PdfPath(id), JsonPath = files.JsonPath(id) }))
                return true;
            // Another retirement certified the erase command meanwhile (this one's row cannot exist: its issues are serialised).
            files.Remove(id);
            return false;
        }

        public override ValueTask DisposeAsync()
        {
            gate.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>One holder per retirement at a time; a retirement's gate exists only while someone holds or awaits it.</summary>
internal sealed class RetirementGates
{
    private readonly Dictionary<Guid, (SemaphoreSlim Gate, int Users)> _gates = [];

    public async Task<IDisposable> EnterAsync(Guid retirementId, CancellationToken cancellationToken)
    {
        SemaphoreSlim gate;
        lock (_gates)
        {
            var (existing, users) = _gates.GetValueOrDefault(retirementId);
            gate = existing ?? new SemaphoreSlim(1, 1);
            _gates[retirementId] = (gate, users + 1);
        }
        try
        {
            await gate.WaitAsync(cancellationToken);
        }
        catch
        {
            Leave(retirementId);
            throw;
        }
        return new Held(this, retirementId, gate);
    }

    private void Leave(Guid retirementId)
    {
        lock (_gates)
        {
            var (gate, users) = _gates[retirementId];
            if (users == 1)
                _gates.Remove(retirementId);
            else
                _gates[retirementId] = (gate, users - 1);
        }
    }

    private sealed class Held(RetirementGates gates, Guid retirementId, SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
                return;
            gate.Release();
            gates.Leave(retirementId);
        }
    }
}
