using System.Diagnostics;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Benchmarks;

/// <summary>
/// Every decoder layer's matrix products of one forward pass (q/k/v and gate/up sharing their inputs, o, down), without
/// attention or the row-wise glue, for n activation rows (`frspec bench products`). Tuning variants of the batched
/// product drivers (<see cref="ProductTuning"/>) alternate round by round in one process, so each sees the same drifting
/// memory bus; a pass of one row (decode's products, bound by the weights' stream) runs in every round as the reference
/// for what streaming alone costs. Weights stream from memory as in a real pass: the model is larger than the caches.
/// Each product kind is timed as well (q/k/v, o, gate/up, down), so a pass's loss can be placed: on the Q8_0 1B shape
/// the 16-row products of the small matrices (q/k/v, o) and of down (8192 columns) ran further below the vpdpbusd peak
/// than gate/up.
/// </summary>
public static class PassProductsProbe
{
    /// <summary>One variant's medians for one row count.</summary>
    /// <param name="Variant">the tuning variant's name</param>
    /// <param name="Rows">activation rows of the pass</param>
    /// <param name="Ms">median ms of the pass's products</param>
    /// <param name="DecodeMs">median ms of one row's products in the same rounds</param>
    /// <param name="RatioToDecode">median of the per-round ratios to the one-row pass</param>
    /// <param name="Gops">G operations/s (a multiply-add counts two) at the median</param>
    /// <param name="PartsMs">median ms per pass of each product kind: q/k/v (one shared region), o, gate/up (shared), down</param>
    public readonly record struct Result(string Variant, int Rows, double Ms, double DecodeMs, double RatioToDecode, double Gops, double[] PartsMs);

    /// <summary>The product kinds of <see cref="Result.PartsMs"/>, in order.</summary>
    public static readonly string[] Parts = ["q/k/v", "o", "gate/up", "down"];

    /// <summary>Times each row count under each variant over <paramref name="rounds"/> alternating rounds.</summary>
    public static IReadOnlyList<Result> Measure(Transformer target, IReadOnlyList<int> rowCounts, IReadOnlyList<ProductTuning> variants, int rounds)
    {
        var c = target.Compute;
        var cfg = target.Config;
        int hidden = cfg.HiddenSize, inter = target.Layers[0].GateProj.Rows, maxRows = Math.Max(1, rowCounts.Max());
        var rnd = new Random(1);
        float[] Rand(int n) { var a = new float[n]; for (int i = 0; i < a.Length; i++) a[i] = (float)(rnd.NextDouble() - 0.5); return a; }
        var x = Rand(maxRows * hidden);
        var h = Rand(maxRows * inter);
        var q = new float[maxRows * target.Layers[0].QProj.Rows];
        var k = new float[maxRows * target.Layers[0].KProj.Rows];
        var v = new float[maxRows * target.Layers[0].VProj.Rows];
        var o = new float[maxRows * hidden];
        var gate = new float[maxRows * inter];
        var up = new float[maxRows * inter];
        long macs = 0;
        foreach (var l in target.Layers)
            macs += (long)l.QProj.Rows * l.QProj.Cols + (long)l.KProj.Rows * l.KProj.Cols + (long)l.VProj.Rows * l.VProj.Cols
                    + (long)l.OProj.Rows * l.OProj.Cols + (long)l.GateProj.Rows * l.GateProj.Cols + (long)l.UpProj.Rows * l.UpProj.Cols
                    + (long)l.DownProj.Rows * l.DownProj.Cols;

        var parts = new double[Parts.Length]; // the last pass's ms per product kind
        double Pass(int n)
        {
            Array.Clear(parts);
            var sw = Stopwatch.StartNew();
            long t = Stopwatch.GetTimestamp();
            void Lap(int part)
            {
                long now = Stopwatch.GetTimestamp();
                parts[part] += Stopwatch.GetElapsedTime(t, now).TotalMilliseconds;
                t = now;
            }
            foreach (var l in target.Layers)
            {
                MatMul.MultiplyShared(c, x, n, l.QProj, q, l.QBias, l.KProj, k, l.KBias, l.VProj, v, l.VBias);
                Lap(0);
                MatMul.Multiply(c, x, n, l.OProj, o, l.OBias);
                Lap(1);
                MatMul.MultiplyShared(c, x, n, l.GateProj, gate, l.GateBias, l.UpProj, up, l.UpBias);
                Lap(2);
                MatMul.Multiply(c, h, n, l.DownProj, o, l.DownBias);
                Lap(3);
            }
            return sw.Elapsed.TotalMilliseconds;
        }

        var defaults = ProductTuning.Current("default");
        try
        {
            // warm-up: JIT, pack buffers, clocks
            Pass(1);
            foreach (int n in rowCounts) foreach (var t in variants) { t.Apply(); Pass(n); }
            var decode = new List<double>();
            var times = new List<double>[rowCounts.Count, variants.Count];
            var partTimes = new List<double>[rowCounts.Count, variants.Count, Parts.Length];
            for (int i = 0; i < rowCounts.Count; i++)
                for (int j = 0; j < variants.Count; j++)
                {
                    times[i, j] = [];
                    for (int p = 0; p < Parts.Length; p++) partTimes[i, j, p] = [];
                }
            for (int r = 0; r < rounds; r++)
            {
                defaults.Apply();
                decode.Add(Pass(1));
                for (int i = 0; i < rowCounts.Count; i++)
                    for (int j = 0; j < variants.Count; j++)
                    {
                        variants[j].Apply();
                        times[i, j].Add(Pass(rowCounts[i]));
                        for (int p = 0; p < Parts.Length; p++) partTimes[i, j, p].Add(parts[p]);
                    }
            }
            var results = new List<Result>();
            double decodeMs = PairedMeasurement.Median(decode);
            for (int i = 0; i < rowCounts.Count; i++)
                for (int j = 0; j < variants.Count; j++)
                {
                    double ms = PairedMeasurement.Median(times[i, j]);
                    results.Add(new(variants[j].Name, rowCounts[i], ms, decodeMs, PairedMeasurement.MedianRatio(times[i, j], decode) ?? double.NaN,
                        2.0 * macs * rowCounts[i] / (ms / 1e3) / 1e9,
                        Enumerable.Range(0, Parts.Length).Select(p => PairedMeasurement.Median(partTimes[i, j, p])).ToArray()));
                }
            return results;
        }
        finally { defaults.Apply(); }
    }
}
