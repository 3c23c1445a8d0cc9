using System.Diagnostics;
using FrSpec.Formats.Corpus;
using FrSpec.Frequency;
using Spectre.Console;

namespace FrSpec.Cli.Support;

/// <summary>
/// Runs a <see cref="FrequencyCounter"/> while showing progress: a Spectre.Console bar (documents, tokens,
/// MB/s, ETA) on a terminal, plain lines on stderr every 10 s when output is redirected.
/// </summary>
internal static class CountingProgressView
{
    private static string Compact(long n) => n switch
    {
        >= 10_000_000 => $"{n / 1e6:F1}M",
        >= 10_000 => $"{n / 1e3:F0}k",
        _ => n.ToString("N0"),
    };

    public static FrequencyCountResult Run(string title, FrequencyCounter counter, CorpusReader corpus, long? maxDocs, long? maxTokens)
    {
        Task<FrequencyCountResult> work = Task.Factory.StartNew(() => counter.Run(corpus.Documents()), TaskCreationOptions.LongRunning);
        var sw = Stopwatch.StartNew();

        // Fraction done: the largest of bytes read, documents vs --max-docs, tokens vs --max-tokens.
        double Fraction()
        {
            double f = corpus.TotalBytes > 0 ? corpus.BytesRead / (double)corpus.TotalBytes : 0;
            if (maxDocs is long md && md > 0) f = Math.Max(f, counter.DocumentsDone / (double)md);
            if (maxTokens is long mt && mt > 0) f = Math.Max(f, counter.TokensDone / (double)mt);
            return Math.Clamp(f, 0, 1);
        }
        string Line()
        {
            double s = Math.Max(sw.Elapsed.TotalSeconds, 1e-3);
            return $"{Compact(counter.DocumentsDone)} docs, {Compact(counter.TokensDone)} tok, {corpus.BytesRead / 1e6 / s:F2} MB/s, {Compact((long)(counter.TokensDone / s))} tok/s";
        }

        bool interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (interactive)
        {
            AnsiConsole.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                         new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(title, maxValue: 1000);
                    while (!Finished(work, 250))
                    {
                        task.Value = Fraction() * 1000;
                        task.Description = $"{title}: {Markup.Escape(Line())}";
                    }
                    task.Value = 1000;
                    task.Description = $"{title}: {Markup.Escape(Line())}";
                });
        }
        else
        {
            while (!Finished(work, 10_000))
            {
                double f = Fraction();
                string eta = f > 0.001 ? $", ETA {TimeSpan.FromSeconds(sw.Elapsed.TotalSeconds * (1 - f) / f):hh\\:mm\\:ss}" : "";
                Console.Error.WriteLine($"{title}: {f * 100:F1}% {Line()}{eta}");
            }
        }
        return work.GetAwaiter().GetResult();   // a worker's own exception, not an AggregateException
    }

    /// <summary>Waits up to <paramref name="ms"/>; true once the work ended, failed or not (its error surfaces from GetResult).</summary>
    private static bool Finished(Task work, int ms) => ((IAsyncResult)work).AsyncWaitHandle.WaitOne(ms) || work.IsCompleted;
}
