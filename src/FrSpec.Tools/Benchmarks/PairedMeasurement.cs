namespace FrSpec.Benchmarks;

/// <summary>
/// Ratios that survive a drifting host. This machine's memory bandwidth moves by ±30% within a minute (other tenants),
/// so decode's rate over the median (or the best) of read passes taken at other moments says as much about the moments
/// as about the kernels. Pairing compares like with like: each decode round against the read passes taken right before
/// and right after it, each verification of T tokens against the decode of the same repetition; the median of those
/// per-round ratios is the figure to judge (a ratio of medians mixes rounds from different moments).
/// Medians here are the upper middle element, as everywhere in the benchmarks.
/// </summary>
public static class PairedMeasurement
{
    /// <summary>Each round's rate over the mean of the read bandwidths measured just before and just after it:
    /// <c>rates[i] / ((before[i] + after[i]) / 2)</c>.</summary>
    public static double[] Shares(IReadOnlyList<double> rates, IReadOnlyList<double> before, IReadOnlyList<double> after)
    {
        if (before.Count != rates.Count || after.Count != rates.Count)
            throw new ArgumentException($"{rates.Count} rounds need as many read passes before and after them ({before.Count}, {after.Count})");
        var shares = new double[rates.Count];
        for (int i = 0; i < shares.Length; i++) shares[i] = rates[i] / ((before[i] + after[i]) / 2);
        return shares;
    }

    /// <summary>Shares of rounds that alternate with read passes, p0 r0 p1 r1 … pn: round i is bracketed by
    /// <paramref name="probes"/>[i] and [i + 1] (one more probe than rounds).</summary>
    public static double[] Shares(IReadOnlyList<double> rates, IReadOnlyList<double> probes)
    {
        if (probes.Count != rates.Count + 1)
            throw new ArgumentException($"{rates.Count} alternating rounds need {rates.Count + 1} read passes, got {probes.Count}");
        return Shares(rates, probes.Take(rates.Count).ToArray(), probes.Skip(1).ToArray());
    }

    /// <summary>Per-repetition ratios <c>numerators[i] / denominators[i]</c> (e.g. verifying T tokens over the decode step
    /// timed in the same repetition).</summary>
    public static double[] Ratios(IReadOnlyList<double> numerators, IReadOnlyList<double> denominators)
    {
        if (numerators.Count != denominators.Count)
            throw new ArgumentException($"per-repetition ratios need as many denominators as numerators ({denominators.Count} vs {numerators.Count})");
        var ratios = new double[numerators.Count];
        for (int i = 0; i < ratios.Length; i++) ratios[i] = numerators[i] / denominators[i];
        return ratios;
    }

    /// <summary>The upper middle element of <paramref name="values"/> (NaN when empty); the input is not reordered.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }

    /// <summary>The median of the per-repetition ratios (<see cref="Ratios"/>), or null when either side is missing or empty.</summary>
    public static double? MedianRatio(IReadOnlyList<double>? numerators, IReadOnlyList<double>? denominators) =>
        numerators is { Count: > 0 } && denominators is { Count: > 0 } ? Median(Ratios(numerators, denominators)) : null;
}
