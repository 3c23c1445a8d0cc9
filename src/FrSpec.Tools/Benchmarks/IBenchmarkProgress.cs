namespace FrSpec.Benchmarks;

/// <summary>
/// Where a benchmark run reports progress: a progress bar in a terminal (the CLI's Spectre.Console view) or
/// plain lines in a log (<see cref="PlainBenchmarkProgress"/>).
/// </summary>
public interface IBenchmarkProgress
{
    /// <summary>Called once before the first step with the number of (question, method) steps.</summary>
    void Start(int totalSteps);
    /// <summary>A step is about to run (shown as the current activity).</summary>
    void Begin(string activity);
    /// <summary>A step ended; <paramref name="summary"/> says what it produced ("skipped: already answered", speed, ...).</summary>
    void Advance(string summary);
    /// <summary>A line worth keeping (warm-up, resumed counts).</summary>
    void Log(string line);
}

/// <summary>Progress as plain lines, for logs and redirected output.</summary>
public sealed class PlainBenchmarkProgress : IBenchmarkProgress
{
    readonly TextWriter _out;
    int _total, _done;

    public PlainBenchmarkProgress(TextWriter output) { _out = output; }

    public void Start(int totalSteps) { _total = totalSteps; _done = 0; }
    public void Begin(string activity) { }
    public void Advance(string summary)
    {
        _done++;
        _out.WriteLine($"[{_done}/{_total}] {summary}");
        _out.Flush();
    }
    public void Log(string line) { _out.WriteLine(line); _out.Flush(); }
}
