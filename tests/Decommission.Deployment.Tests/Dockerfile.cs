namespace Decommission.Deployment.Tests;

public sealed record DockerInstruction(string Keyword, string Arguments);

/// <summary>A Dockerfile as instructions (continuation lines joined, comments dropped), split into build stages.</summary>
public sealed class Dockerfile
{
    private Dockerfile(IReadOnlyList<IReadOnlyList<DockerInstruction>> stages) => Stages = stages;

    /// <summary>Each stage starts with its FROM.</summary>
    public IReadOnlyList<IReadOnlyList<DockerInstruction>> Stages { get; }

    /// <summary>The stage the image is made of.</summary>
    public IReadOnlyList<DockerInstruction> FinalStage => Stages[^1];

    public static Dockerfile Load(string path)
    {
        var instructions = new List<DockerInstruction>();
        var pending = "";
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || (line.Length == 0 && pending.Length == 0))
                continue;
            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }
            var full = (pending + line).Trim();
            pending = "";
            if (full.Length == 0)
                continue;
            var space = full.IndexOf(' ', StringComparison.Ordinal);
            instructions.Add(space < 0
                ? new DockerInstruction(full.ToUpperInvariant(), "")
                : new DockerInstruction(full[..space].ToUpperInvariant(), full[(space + 1)..].Trim()));
        }

        var stages = new List<List<DockerInstruction>>();
        foreach (var instruction in instructions)
        {
            if (instruction.Keyword == "FROM" || stages.Count == 0)
                stages.Add([]);
            stages[^1].Add(instruction);
        }
        return new Dockerfile(stages);
    }

    /// <summary>Build arguments declared anywhere (<c>ARG NAME</c> or <c>ARG NAME=default</c>).</summary>
    public IReadOnlySet<string> DeclaredArgs =>
        Stages.SelectMany(s => s).Where(i => i.Keyword == "ARG").Select(i => i.Arguments.Split('=')[0].Trim()).ToHashSet();
}
