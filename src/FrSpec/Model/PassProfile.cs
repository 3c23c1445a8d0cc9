using System.Diagnostics;

namespace FrSpec.Model;

/// <summary>
/// Where the time of forward passes goes, phase by phase, summed over layers and passes. Benchmarks attach one to a
/// <see cref="ForwardState"/>; without one a pass pays a null test per phase.
/// </summary>
internal sealed class PassProfile
{
    public enum Phase { Embedding, Norms, QkvProjections, RopeAndCache, Attention, OutputProjection, GateUpProjections, Activation, DownProjection, Residuals }

    public static readonly Phase[] Phases = Enum.GetValues<Phase>();
    private readonly long[] _ticks = new long[Phases.Length];
    private long _last;

    /// <summary>Starts timing the next phase now.</summary>
    public void Start() => _last = Stopwatch.GetTimestamp();

    /// <summary>Charges the time since the last mark to <paramref name="phase"/>.</summary>
    public void End(Phase phase)
    {
        long now = Stopwatch.GetTimestamp();
        _ticks[(int)phase] += now - _last;
        _last = now;
    }

    public double Ms(Phase phase) => _ticks[(int)phase] * 1000.0 / Stopwatch.Frequency;

    public void Clear() => Array.Clear(_ticks);
}
