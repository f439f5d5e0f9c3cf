using System.Diagnostics;

namespace Decommission.Testing;

/// <summary>Runs a tool a user would (pdfsig, chromium, openssl) and fails clearly when ops/test.sh did not install it.</summary>
public static class ExternalTool
{
    /// <summary>The repository's root, from this test's output directory (tests/&lt;project&gt;/bin/&lt;Configuration&gt;/&lt;tfm&gt;/).</summary>
    public static string RepositoryRoot => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Parent!.Parent!.Parent!.Parent!.FullName;

    public static async Task<(int Exit, string Output)> Run(string tool, params string[] arguments) => await RunIn(null, tool, arguments);

    public static async Task<(int Exit, string Output)> RunIn(string? directory, string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (directory is not null)
            start.WorkingDirectory = directory;
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new Xunit.Sdk.XunitException($"{tool} is not installed: ops/test.sh installs it (run the tests with ops/test.sh)");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, await stdout + await stderr);
        }
    }
}
