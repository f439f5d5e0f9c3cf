namespace Decommission.Cli;

/// <summary>What decom's exit code tells a script.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>The request was answered, but not as hoped: not found, refused, rows or lines with problems, a certificate that is not valid.</summary>
    public const int Failed = 1;
    /// <summary>The command line (or a DECOM_* variable) is wrong; the usage is printed.</summary>
    public const int Usage = 2;
    /// <summary>The broker or the certificates API cannot be reached.</summary>
    public const int Unreachable = 3;
    /// <summary>Reached, but the service did not answer in time.</summary>
    public const int NoAnswer = 4;
    /// <summary>Interrupted (Ctrl+C), as shells report SIGINT.</summary>
    public const int Cancelled = 130;
}

/// <summary>A failure the operator can act on: printed as one line on stderr, never with a stack trace.</summary>
public sealed class CliFailure(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
