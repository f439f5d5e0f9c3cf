using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Decommission.Certificates.Issuing;

/// <summary>
/// The certificates' files (DataDirectory/certificates: &lt;id&gt;.pdf and &lt;id&gt;.json). A certificate's files are in place —
/// written to temporary files, flushed to disk, renamed over their names, the directory flushed — before its row is written,
/// so every listed certificate has its bytes. What an interrupted issue leaves (temporary files; files in place whose row was
/// never written) is removed once, before this process stores anything (<see cref="RecoverAsync"/>). One process per
/// directory: the files of a certificate are written by the process that writes its row.
/// </summary>
public sealed class CertificateFiles
{
    public const string TemporarySuffix = ".tmp";
    private static readonly string[] CertificateExtensions = [".pdf", ".json"];

    private readonly CertificateStore _certificates;
    private readonly ILogger<CertificateFiles> _logger;
    private readonly Lazy<Task<IReadOnlyList<string>>> _recovery;

    public CertificateFiles(IOptions<CertificatesOptions> options, CertificateStore certificates, ILogger<CertificateFiles> logger)
    {
        Directory = Path.Combine(options.Value.DataDirectory, "certificates");
        _certificates = certificates;
        _logger = logger;
        _recovery = new(RemoveLeftoversAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public string Directory { get; }

    public string PdfPath(string certificateId) => Path.Combine(Directory, certificateId + ".pdf");

    public string JsonPath(string certificateId) => Path.Combine(Directory, certificateId + ".json");

    /// <summary>
    /// Removes, once per process, what interrupted issues left: every temporary file, and every .pdf or .json no certificate row
    /// names (stored before a crash took the row). Every store awaits it first; returns the names of the files removed.
    /// </summary>
    public Task<IReadOnlyList<string>> RecoverAsync() => _recovery.Value;

    /// <summary>Writes the certificate's files under temporary names, each flushed to disk; <see cref="StagedCertificate.PutInPlace"/> names them.</summary>
    public async Task<StagedCertificate> StageAsync(string certificateId, byte[] pdf, byte[] json, CancellationToken cancellationToken)
    {
        await RecoverAsync();
        System.IO.Directory.CreateDirectory(Directory);
        // Unique temporary names: a stale temporary file of an earlier attempt is never appended to or renamed by mistake.
        var suffix = $".{Guid.NewGuid():N}{TemporarySuffix}";
        var staged = new StagedCertificate(this, [(PdfPath(certificateId) + suffix, PdfPath(certificateId)), (JsonPath(certificateId) + suffix, JsonPath(certificateId))]);
        try
        {
            await WriteDurablyAsync(staged.Files[0].Temporary, pdf, cancellationToken);
            await WriteDurablyAsync(staged.Files[1].Temporary, json, cancellationToken);
        }
        catch
        {
            staged.Discard();
            throw;
        }
        return staged;
    }

    /// <summary>Removes a certificate's files that no row names (an issue refused after they were stored).</summary>
    public void Remove(string certificateId)
    {
        File.Delete(PdfPath(certificateId));
        File.Delete(JsonPath(certificateId));
        FlushDirectory(Directory);
    }

    private async Task<IReadOnlyList<string>> RemoveLeftoversAsync()
    {
        if (!System.IO.Directory.Exists(Directory))
            return [];
        // Files are matched by name: the row's path may have been written under another working directory or data path.
        var named = (await _certificates.FileNamesAsync(CancellationToken.None)).ToHashSet(StringComparer.Ordinal);
        var removed = new List<string>();
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory))
        {
            var name = Path.GetFileName(path);
            var leftover = name.EndsWith(TemporarySuffix, StringComparison.Ordinal)
                || (CertificateExtensions.Contains(Path.GetExtension(name), StringComparer.Ordinal) && !named.Contains(name));
            if (!leftover)
                continue;
            File.Delete(path);
            removed.Add(name);
        }
        if (removed.Count > 0)
        {
            FlushDirectory(Directory);
            _logger.LogWarning("Removed {Count} file(s) an interrupted issue left in {Directory} (temporary, or stored without a certificate row): {Files}",
                removed.Count, Directory, string.Join(", ", removed.Order(StringComparer.Ordinal)));
        }
        return removed;
    }

    private static async Task WriteDurablyAsync(string path, byte[] bytes, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.Asynchronous,
        });
        await file.WriteAsync(bytes, cancellationToken);
        // fsync: the bytes are on disk before the name points at them.
        file.Flush(flushToDisk: true);
    }

    /// <summary>fsync of the directory, so renames and deletions in it survive a crash of the machine, not only of the process.</summary>
    internal static void FlushDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
            return;
        var descriptor = Posix.Open(directory, Posix.ReadOnly);
        if (descriptor < 0)
            throw new IOException($"Cannot open {directory} to flush it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (Posix.Fsync(descriptor) != 0)
                throw new IOException($"Cannot flush {directory} to disk (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            Posix.Close(descriptor);
        }
    }

    /// <summary>A certificate's files written under temporary names, not yet in place.</summary>
    public sealed class StagedCertificate
    {
        private readonly CertificateFiles _files;

        internal StagedCertificate(CertificateFiles files, (string Temporary, string Final)[] paths)
        {
            _files = files;
            Files = paths;
        }

        internal (string Temporary, string Final)[] Files { get; }

        /// <summary>Renames each file over its name (rename(2): atomic, a reader sees the old file or the whole new one) and flushes the directory.</summary>
        public void PutInPlace()
        {
            foreach (var (temporary, final) in Files)
                File.Move(temporary, final, overwrite: true);
            FlushDirectory(_files.Directory);
        }

        /// <summary>Removes the temporary files (a failed write).</summary>
        public void Discard()
        {
            foreach (var (temporary, _) in Files)
                File.Delete(temporary);
        }
    }

    // .NET opens no directory as a file: open(2) read-only and fsync(2) it directly.
    private static class Posix
    {
        public const int ReadOnly = 0;

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int Fsync(int descriptor);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int descriptor);
    }
}
