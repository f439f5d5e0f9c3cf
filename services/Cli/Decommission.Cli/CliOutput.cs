using Decommission.DeviceProtocol;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Decommission.Cli;

/// <summary>
/// Where decom writes: results to stdout, progress and one-line errors to stderr. Colours and live progress only on a
/// terminal; captured or piped output is plain text, wide enough that ids are not wrapped.
/// </summary>
public sealed class CliOutput
{
    private const int PipedWidth = 200;

    public CliOutput(TextWriter output, TextWriter error)
    {
        Out = Create(output);
        Progress = Create(error);
        Error = error;
    }

    /// <summary>Results: tables and lines a script may read.</summary>
    public IAnsiConsole Out { get; }

    /// <summary>Progress bars, on stderr so that stdout stays the result.</summary>
    public IAnsiConsole Progress { get; }

    /// <summary>Failures: one line each.</summary>
    public TextWriter Error { get; }

    /// <summary>A line of plain text; control characters (a device id or reason with escape sequences) are shown, never obeyed.</summary>
    public void Line(string text) => Out.WriteLine(UntrustedText.Safe(text, maxLength: 4096));

    public void Render(IRenderable renderable) => Out.Write(renderable);

    /// <summary>A table whose cells are plain text (never parsed as Spectre markup: device ids may hold brackets).</summary>
    public static Table Table(params string[] headers)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in headers)
            table.AddColumn(new TableColumn(new Text(header)));
        return table;
    }

    public static void Row(Table table, params string?[] cells) =>
        table.AddRow(cells.Select(cell => (IRenderable)new Text(string.IsNullOrEmpty(cell) ? "-" : UntrustedText.Safe(cell))).ToArray());

    public static string Time(DateTimeOffset? at) => at is { } value ? value.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'") : "-";

    private static IAnsiConsole Create(TextWriter writer)
    {
        var output = new AnsiConsoleOutput(writer);
        var terminal = output.IsTerminal;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = output,
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal)
            console.Profile.Width = PipedWidth;
        return console;
    }
}
