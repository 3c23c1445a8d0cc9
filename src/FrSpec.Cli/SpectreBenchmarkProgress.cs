using FrSpec.Benchmarks;
using Spectre.Console;

namespace FrSpec.Cli;

/// <summary>A Spectre.Console progress bar for benchmark runs in a terminal.</summary>
sealed class SpectreBenchmarkProgress : IBenchmarkProgress
{
    readonly ProgressContext _context;
    ProgressTask? _task;
    string _last = "";

    SpectreBenchmarkProgress(ProgressContext context) { _context = context; }

    /// <summary>Runs <paramref name="body"/> under a live progress bar when stdout is an interactive terminal,
    /// else with plain progress lines.</summary>
    public static T Run<T>(Func<IBenchmarkProgress, T> body)
    {
        bool interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (!interactive) return body(new PlainBenchmarkProgress(Console.Out));
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx => { result = body(new SpectreBenchmarkProgress(ctx)); });
        return result;
    }

    public void Start(int totalSteps)
    {
        _task = _context.AddTask("starting", maxValue: Math.Max(1, totalSteps));
        if (totalSteps == 0) _task.Value = 1;
    }

    public void Begin(string activity)
    {
        if (_task is not null) _task.Description = Markup.Escape(activity + (_last.Length > 0 ? "   (last: " + _last + ")" : ""));
    }

    public void Advance(string summary)
    {
        _last = summary;
        if (_task is null) return;
        _task.Increment(1);
        _task.Description = Markup.Escape(summary);
    }

    public void Log(string line) => AnsiConsole.MarkupLine(Markup.Escape(line));
}
