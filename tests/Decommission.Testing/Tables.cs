namespace Decommission.Testing;

/// <summary>Reads the plain-text tables decom prints when its output is not a terminal.</summary>
public static class Tables
{
    /// <summary>The data rows of every table in the output, as trimmed cells (header rows included).</summary>
    public static IReadOnlyList<string[]> Rows(string output) =>
        output.Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.StartsWith('│') && line.EndsWith('│'))
            .Select(line => line.Trim('│').Split('│').Select(cell => cell.Trim()).ToArray())
            .ToList();

    /// <summary>The value printed beside a label (status facts: "State   Completed").</summary>
    public static string? Fact(string output, string label) =>
        output.Split('\n').Select(line => line.Trim())
            .Where(line => line.StartsWith(label + " ", StringComparison.Ordinal))
            .Select(line => line[label.Length..].Trim())
            .FirstOrDefault();

    /// <summary>The count a summary table gives for a label.</summary>
    public static int Count(string output, string label)
    {
        var row = Rows(output).FirstOrDefault(r => r.Length == 2 && r[0] == label);
        Assert.True(row is not null, $"no '{label}' row in:\n{output}");
        return int.Parse(row[1]);
    }
}
