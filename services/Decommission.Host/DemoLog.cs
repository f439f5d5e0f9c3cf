using System.Text;
using Spectre.Console;

namespace Decommission.Host;

/// <summary>
/// The demo's log file: what the process writes to standard output and error — the services' logs, and the spans and
/// metrics of the console exporter — goes to <c>demo.log</c> in the data directory, while the terminal keeps only the
/// demo's own progress and summary.
/// </summary>
public sealed class DemoLog : IDisposable
{
    public const string FileName = "demo.log";

    private readonly TextWriter _out;
    private readonly TextWriter _error;
    private readonly IAnsiConsole _console;
    private readonly StreamWriter _file;

    private DemoLog(string path)
    {
        Path = path;
        _out = Console.Out;
        _error = Console.Error;
        _console = AnsiConsole.Console;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        _file = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { AutoFlush = true };
        // The demo's own output keeps the terminal; everything else written to the console goes to the file.
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new TerminalOutput(_out) });
        Console.SetOut(_file);
        Console.SetError(_file);
    }

    public string Path { get; }

    public static DemoLog Open(string dataDirectory) => new(System.IO.Path.GetFullPath(System.IO.Path.Combine(dataDirectory, FileName)));

    public void Dispose()
    {
        Console.SetOut(_out);
        Console.SetError(_error);
        AnsiConsole.Console = _console;
        _file.Dispose();
    }

    /// <summary>The real standard output, still seen as the terminal it is (Spectre would otherwise compare it with the redirected Console.Out).</summary>
    private sealed class TerminalOutput(TextWriter writer) : IAnsiConsoleOutput
    {
        public TextWriter Writer => writer;

        public bool IsTerminal => !Console.IsOutputRedirected;

        public int Width => Measure(() => Console.WindowWidth, 80);

        public int Height => Measure(() => Console.WindowHeight, 24);

        public void SetEncoding(Encoding encoding)
        {
            if (IsTerminal)
                Console.OutputEncoding = encoding;
        }

        private int Measure(Func<int> size, int fallback)
        {
            if (!IsTerminal)
                return fallback;
            try
            {
                return size() is > 0 and var measured ? measured : fallback;
            }
            catch (IOException)
            {
                return fallback;
            }
        }
    }
}
