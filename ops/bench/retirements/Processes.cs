using System.Globalization;

namespace Decommission.Bench;

/// <summary>
/// The processes under measurement ("name=pid …", or "name=tree:pid" for a server that forks a process per connection,
/// as PostgreSQL's postmaster does): CPU time and resident memory read from /proc.
/// </summary>
public sealed class Processes(string spec, int clockTicksPerSecond)
{
    private const string Tree = "tree:";

    private readonly Dictionary<string, (int Pid, bool Tree)> _pids = spec.Split(' ', StringSplitOptions.RemoveEmptyEntries)
        .Select(pair => pair.Split('='))
        .ToDictionary(pair => pair[0], pair => pair[1].StartsWith(Tree, StringComparison.Ordinal)
            ? (int.Parse(pair[1][Tree.Length..], CultureInfo.InvariantCulture), true)
            : (int.Parse(pair[1], CultureInfo.InvariantCulture), false));

    /// <summary>User + system CPU seconds each process has used so far; a tree counts its root, its live children, and
    /// (cutime + cstime) the children it has already reaped, so a connection's backend that exits is not lost.</summary>
    public Dictionary<string, double> CpuSeconds() => _pids.ToDictionary(p => p.Key, p =>
    {
        if (!p.Value.Tree)
            return Ticks(Stat(p.Value.Pid)!, reaped: false) / (double)clockTicksPerSecond;
        var ticks = Ticks(Stat(p.Value.Pid)!, reaped: true);
        foreach (var child in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(child), CultureInfo.InvariantCulture, out var pid) || pid == p.Value.Pid)
                continue;
            if (Stat(pid) is { } fields && fields[1] == p.Value.Pid.ToString(CultureInfo.InvariantCulture))
                ticks += Ticks(fields, reaped: false);
        }
        return ticks / (double)clockTicksPerSecond;
    });

    /// <summary>Each process's resident set now, in MB (a tree: its root's).</summary>
    public Dictionary<string, double> ResidentMegabytes() => _pids.ToDictionary(p => p.Key, p =>
        File.ReadLines($"/proc/{p.Value.Pid}/status").Where(line => line.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Select(line => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0)
            .Single());

    // /proc/PID/stat: the command may contain spaces, so fields are counted after its closing parenthesis (index 0 is the
    // state, 1 the parent pid; utime, stime, cutime, cstime are fields 14–17 of the whole line). Null when it has exited.
    private static string[]? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static long Ticks(string[] fields, bool reaped) =>
        Enumerable.Range(11, reaped ? 4 : 2).Sum(i => long.Parse(fields[i], CultureInfo.InvariantCulture));
}
