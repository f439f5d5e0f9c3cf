using System.Diagnostics;
using System.Text;
using Decommission.Testing;

namespace Decommission.DeviceGateway.Tests;

/// <summary>
/// The device agent's own host (services/Decommission.DeviceAgent, built beside this project's output) as a child process on the
/// test broker: a fleet of healthy devices whose bundles appear in <c>provisioning</c> and whose state lives in
/// <see cref="DataDirectory"/>. Started again after <see cref="Kill"/>, it is the same agent on the same data.
/// </summary>
public sealed class DeviceAgentProcess(string directory, string provisioning, IReadOnlyList<string> deviceIds) : IAsyncDisposable
{
    /// <summary>The line <see cref="KillAsync"/> adds to <see cref="Log"/>: what follows it is the restarted agent's.</summary>
    public const string Killed = "--- killed (SIGKILL) ---";

    private readonly StringBuilder _log = new();
    private Process? _process;

    /// <summary>Where the devices keep their state, one directory each.</summary>
    public string DataDirectory => Path.Combine(directory, "devices");

    private string AttestationKeysCsv => Path.Combine(directory, "attestation-keys.csv");

    /// <summary>What the agent has written so far, every run (its log holds no key material).</summary>
    public string Log
    {
        get
        {
            lock (_log)
                return _log.ToString();
        }
    }

    /// <summary>Starts the agent and waits until its fleet has started (its enrollment CSV written, its provisioned devices connecting).</summary>
    public async Task StartAsync()
    {
        Directory.CreateDirectory(directory);
        File.Delete(AttestationKeysCsv);
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(AgentAssembly());
        start.Environment["DeviceAgent__ProvisioningDirectory"] = provisioning;
        start.Environment["DeviceAgent__DataDirectory"] = DataDirectory;
        start.Environment["DeviceAgent__AttestationKeysOut"] = AttestationKeysCsv;
        start.Environment["DeviceAgent__ProvisioningPollInterval"] = "00:00:00.100";
        start.Environment["DeviceAgent__DeviceCount"] = "0";
        for (var i = 0; i < deviceIds.Count; i++)
            start.Environment[$"DeviceAgent__Devices__{i}__Id"] = deviceIds[i];
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start };
        DataReceivedEventHandler record = (_, line) =>
        {
            if (line.Data is null)
                return;
            lock (_log)
                _log.AppendLine(line.Data);
            if (line.Data.Contains("Device fleet started", StringComparison.Ordinal))
                started.TrySetResult();
        };
        process.OutputDataReceived += record;
        process.ErrorDataReceived += record;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(started.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
        if (first != started.Task)
            throw new Xunit.Sdk.XunitException($"the device agent did not start ({(process.HasExited ? $"exited with {process.ExitCode}" : "no word in 60 s")}):\n{Log}");
    }

    /// <summary>The agent's enrollment CSV: device id → attestation public key (SubjectPublicKeyInfo).</summary>
    public async Task<Dictionary<string, byte[]>> AttestationKeysAsync() =>
        (await File.ReadAllLinesAsync(AttestationKeysCsv)).Skip(1).Select(line => line.Split(','))
            .ToDictionary(columns => columns[0], columns => Convert.FromBase64String(columns[1]));

    /// <summary>SIGKILL, as <c>kill -9</c>: no shutdown, nothing flushed but what the devices had already written.</summary>
    public async Task KillAsync()
    {
        var process = _process ?? throw new InvalidOperationException("the agent is not running");
        process.Kill();
        await process.WaitForExitAsync();
        Assert.Equal(137, process.ExitCode);
        lock (_log)
            _log.AppendLine(Killed);
        process.Dispose();
        _process = null;
    }

    /// <summary>Built by the project reference, in the agent's own output directory (its appsettings.json beside it).</summary>
    private static string AgentAssembly()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory); // tests/<project>/bin/<Configuration>/<tfm>/
        var (configuration, framework) = (here.Parent!.Name, here.Name);
        var path = Path.Combine(ExternalTool.RepositoryRoot, "services", "Decommission.DeviceAgent", "bin", configuration, framework, "Decommission.DeviceAgent.dll");
        return File.Exists(path) ? path : throw new Xunit.Sdk.XunitException($"the device agent is not built at {path}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
    }
}
