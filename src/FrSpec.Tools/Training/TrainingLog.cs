using System.Diagnostics;

namespace FrSpec.Training;

/// <summary>Progress lines to stderr and to a log file, and the throughput against the FMA roofline.</summary>
public sealed class TrainingLog : IDisposable
{
    /// <summary>f32 FMA peak of the reference machine (2 cores × AVX2 2 FMA/cycle), GFLOP/s.</summary>
    public const double RooflineGflops = 234.0;

    private readonly StreamWriter? _file;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public TrainingLog(string? path)
    {
        if (path != null) _file = new StreamWriter(path, append: true) { AutoFlush = true };
    }

    public TimeSpan Elapsed => _clock.Elapsed;

    public void Line(string s)
    {
        string line = $"[{_clock.Elapsed:hh\\:mm\\:ss}] {s}";
        Console.Error.WriteLine(line);
        _file?.WriteLine(line);
    }

    /// <summary>"step 12/400 loss 6.123 lr 1.2e-03 |g| 0.84 1,234 tok/s 156.3 GFLOP/s (66.8% of FMA roofline)".</summary>
    public static string Progress(int step, int steps, double loss, double lr, double gradNorm, double tokensPerSecond, double flopsPerToken) =>
        $"step {step}/{steps} loss {loss:F4} lr {lr:0.0e+00} |g| {gradNorm:F3} {tokensPerSecond:N0} tok/s " +
        $"{tokensPerSecond * flopsPerToken / 1e9:F1} GFLOP/s ({100 * tokensPerSecond * flopsPerToken / 1e9 / RooflineGflops:F1}% of FMA roofline)";

    public void Dispose() => _file?.Dispose();
}
