using System.Globalization;

namespace Decommission.Bench;

/// <summary>The processes under measurement ("name=pid …"): CPU time and resident memory read from /proc.</summary>
public sealed class Processes(string spec, int clockTicksPerSecond)
{
    private readonly Dictionary<string, int> _pids = spec.Split(' ', StringSplitOptions.RemoveEmptyEntries)
        .Select(pair => pair.Split('='))
        .ToDictionary(pair => pair[0], pair => int.Parse(pair[1], CultureInfo.InvariantCulture));

    /// <summary>User + system CPU seconds each process has used so far.</summary>
    public Dictionary<string, double> CpuSeconds() => _pids.ToDictionary(p => p.Key, p =>
    {
        // /proc/PID/stat: the command may contain spaces, so fields are counted after its closing parenthesis;
        // utime and stime are fields 14 and 15 of the whole line.
        var stat = File.ReadAllText($"/proc/{p.Value}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / (double)clockTicksPerSecond;
    });

    /// <summary>Each process's resident set now, in MB.</summary>
    public Dictionary<string, double> ResidentMegabytes() => _pids.ToDictionary(p => p.Key, p =>
        File.ReadLines($"/proc/{p.Value}/status").Where(line => line.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Select(line => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0)
            .Single());
}
