using Spectre.Console;

namespace FrSpec.Cli.Support;

/// <summary>
/// A single-task progress bar for long file-writing steps (expansion, quantization): a Spectre.Console bar on an
/// interactive terminal (on stderr, so stdout stays machine-readable), else nothing.
/// </summary>
internal static class ProgressBar
{
    public static void Run(string description, Action<IProgress<(int Done, int Total)>> body)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        if (Console.IsErrorRedirected || !console.Profile.Capabilities.Interactive)
        {
            body(Silent.Instance);
            return;
        }
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(description), maxValue: 1);
                body(new Reporter(task));
            });
    }

    private sealed class Silent : IProgress<(int Done, int Total)>
    {
        public static readonly Silent Instance = new();
        public void Report((int Done, int Total) value) { }
    }

    /// <summary>Reports synchronously (Progress&lt;T&gt; would post to the thread pool and lag behind).</summary>
    private sealed class Reporter(ProgressTask task) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value)
        {
            task.MaxValue = Math.Max(1, value.Total);
            task.Value = value.Done;
        }
    }
}
