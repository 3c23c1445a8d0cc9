using FrSpec.Benchmarks;

namespace FrSpec.Tests.Benchmarks;

/// <summary>Pairing each round with the read passes around it gives the kernel's share of the bandwidth of its own moment,
/// where a share of the run's median or best read pass reports the host's drift instead.</summary>
public class PairedMeasurementTests
{
    /// <summary>Decode always streams at 95% of the bandwidth of its moment. The bus is busy (30 GB/s) for six rounds and
    /// quiet (60 GB/s) for three: the best read pass says "48%", and a bandwidth measured at another moment (as bench decode
    /// did, after all rounds, here in the quiet phase) says "48%" or, the other way round, "190%".</summary>
    [Fact]
    public void Drift_fools_the_best_and_the_other_moment_shares_but_not_the_paired_one()
    {
        double[] bus = [30, 30, 30, 30, 30, 30, 60, 60, 60]; // the bandwidth during round i and the read pass before it
        var rates = bus.Select(b => 0.95 * b).ToArray();
        var probes = bus.Append(60.0).ToArray(); // p0 r0 p1 r1 … p9: the last pass after the last round
        double median = PairedMeasurement.Median(rates);
        Assert.InRange(median / probes.Max(), 0.47, 0.48); // "decode at 48% of the best bandwidth"
        Assert.InRange(median / 60, 0.47, 0.48);           // against a bandwidth measured later, in the quiet phase
        Assert.InRange(PairedMeasurement.Median(rates.Skip(6).ToArray()) / 30, 1.89, 1.91); // quiet rounds, busy probe: "190%"

        var shares = PairedMeasurement.Shares(rates, probes);
        Assert.Equal(bus.Length, shares.Length);
        Assert.Equal(0.95 * 30 / 45, shares[5], 12); // the round at the phase change is judged by the mean of both sides
        Assert.Equal(0.95, PairedMeasurement.Median(shares), 12);
    }

    [Fact]
    public void A_steady_bus_gives_the_same_answer_both_ways()
    {
        double[] rates = [40, 41, 39, 40, 40];
        double[] probes = [44, 44, 44, 44, 44, 44];
        var shares = PairedMeasurement.Shares(rates, probes);
        Assert.Equal(40 / 44.0, PairedMeasurement.Median(shares), 12);
        Assert.Equal(PairedMeasurement.Median(rates) / PairedMeasurement.Median(probes), PairedMeasurement.Median(shares), 12);
    }

    [Fact]
    public void Each_round_is_judged_by_the_mean_of_its_own_two_passes()
    {
        var shares = PairedMeasurement.Shares([30, 50], [20, 40], [40, 60]);
        Assert.Equal([1.0, 1.0], shares);
        // alternating form: p0 r0 p1 r1 p2
        Assert.Equal([30 / 25.0, 45 / 45.0], PairedMeasurement.Shares([30, 45], [20, 30, 60]));
    }

    /// <summary>Verifying T tokens costs 2 decode steps. The machine is fast in repetitions 0–1 and slow in 3–4, and a burst
    /// of other tenants' traffic hits repetition 2's decode but not its verification: the medians come from different
    /// repetitions (decode 60 ms, slow; T 80 ms, fast) and their ratio says 1.33; the per-repetition ratios say 2.</summary>
    [Fact]
    public void Per_repetition_ratios_survive_drift_that_the_ratio_of_medians_does_not()
    {
        double[] decode = [40, 40, 60, 60, 60];
        double[] verify = [80, 80, 80, 120, 120];
        Assert.Equal(80 / 60.0, PairedMeasurement.Median(verify) / PairedMeasurement.Median(decode), 12);
        Assert.Equal([2, 2, 80 / 60.0, 2, 2], PairedMeasurement.Ratios(verify, decode));
        Assert.Equal(2.0, PairedMeasurement.MedianRatio(verify, decode)!.Value, 12);
    }

    [Fact]
    public void Mismatched_or_missing_samples_are_refused_or_null()
    {
        Assert.Throws<ArgumentException>(() => PairedMeasurement.Shares([1, 2], [1, 2]));
        Assert.Throws<ArgumentException>(() => PairedMeasurement.Shares([1, 2], [1], [1, 2]));
        Assert.Throws<ArgumentException>(() => PairedMeasurement.Ratios([1, 2], [1]));
        Assert.Null(PairedMeasurement.MedianRatio(null, [1.0]));
        Assert.Null(PairedMeasurement.MedianRatio([], [1.0]));
        Assert.True(double.IsNaN(PairedMeasurement.Median([])));
    }

    [Fact]
    public void Median_is_the_upper_middle_and_leaves_the_input_in_order()
    {
        var values = new List<double> { 5, 1, 4, 2 };
        Assert.Equal(4, PairedMeasurement.Median(values));
        Assert.Equal([5.0, 1, 4, 2], values);
        Assert.Equal(3, PairedMeasurement.Median([3.0, 9, 1]));
    }
}
