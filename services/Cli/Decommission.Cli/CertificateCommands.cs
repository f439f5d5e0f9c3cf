using System.CommandLine;
using System.Security.Cryptography;

namespace Decommission.Cli;

/// <summary><c>certificates download</c> and <c>certificates verify</c>: the certificates service's auditor API over HTTP.</summary>
public static class CertificateCommands
{
    public static Command Certificates(CliContext cli) =>
        new("certificates", "Download and verify signed disposal certificates.") { Download(cli), Verify(cli) };

    private static Command Download(CliContext cli)
    {
        var certificate = new Argument<string>("certificateId") { Description = "the certificate to download" };
        var output = new Option<FileInfo>("--out") { Description = "where to write the PDF (default: <certificateId>.pdf here)", HelpName = "path" };
        var command = new Command("download", "Download a certificate's signed PDF and print its SHA-256.") { certificate, output };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var id = parse.GetRequiredValue(certificate).Trim();
            var target = parse.GetValue(output) ?? new FileInfo($"{string.Concat(id.Split(Path.GetInvalidFileNameChars()))}.pdf");
            if (Directory.Exists(target.FullName))
                target = new FileInfo(Path.Combine(target.FullName, $"{string.Concat(id.Split(Path.GetInvalidFileNameChars()))}.pdf"));

            using var api = cli.Api(parse);
            var pdf = await api.DownloadPdfAsync(id, cancellationToken);
            await WriteAtomicallyAsync(target, pdf, cancellationToken);
            cli.Output.Line($"Saved {target.FullName} ({pdf.Length} bytes)");
            cli.Output.Line($"SHA-256 {Convert.ToHexStringLower(SHA256.HashData(pdf))}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Verify(CliContext cli)
    {
        var file = new Argument<FileInfo>("file") { Description = "the PDF to check" }.AcceptExistingOnly();
        var command = new Command("verify", "Check a PDF against the certificates service: exit 0 only when it is a valid certificate of ours.") { file };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var pdf = parse.GetRequiredValue(file);
            using var api = cli.Api(parse);
            var result = await api.VerifyAsync(pdf, cancellationToken);
            cli.Output.Line($"Verdict     {result.Verdict}");
            cli.Output.Line($"Certificate {(string.IsNullOrEmpty(result.CertificateId) ? "-" : result.CertificateId)}");
            cli.Output.Line($"Detail      {(string.IsNullOrEmpty(result.Detail) ? "-" : result.Detail)}");
            return result.Verdict == VerificationResult.Valid ? ExitCodes.Success : ExitCodes.Failed;
        });
        return command;
    }

    /// <summary>Never leaves half a PDF behind: written beside the target, then moved over it.</summary>
    private static async Task WriteAtomicallyAsync(FileInfo target, byte[] content, CancellationToken cancellationToken)
    {
        target.Directory?.Create();
        var partial = target.FullName + ".partial";
        await File.WriteAllBytesAsync(partial, content, cancellationToken);
        File.Move(partial, target.FullName, overwrite: true);
    }
}
