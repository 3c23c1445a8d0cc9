using System.Diagnostics;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Benchmarks;

/// <summary>
/// Decode's matrix products split by weight type: every matrix of one type (the layers' projections and the LM head)
/// multiplied by one activation row, in model order, as a decode step reads them. The bytes over the median time give
/// each type's streaming rate, to set beside the machine's read bandwidth measured in the same run: a mixed file (Q4_K_M)
/// shows which of its block types falls short of the roofline. A read pass over 1 GiB (huge pages) runs before each round,
/// so the bandwidth that the shares compare with is measured at the same moments (it drifts on a shared host).
/// </summary>
public static class WeightTypeStreams
{
    /// <summary>One weight type's share of a decode step.</summary>
    public sealed record Stream(DType Type, int Matrices, long Bytes, double MedianSeconds)
    {
        public double GBps => Bytes / MedianSeconds / 1e9;
    }

    /// <summary>Each type's products and the interleaved read bandwidth (GB/s), medians over <paramref name="repeats"/>
    /// rounds after one warm-up round.</summary>
    public sealed record Result(IReadOnlyList<Stream> Streams, double BandwidthGBps);

    /// <summary>Measures every weight type of <paramref name="model"/> (see the class summary).</summary>
    public static Result Measure(Transformer model, int repeats)
    {
        var matrices = new List<WeightMatrix>();
        foreach (var l in model.Layers) matrices.AddRange([l.QProj, l.KProj, l.VProj, l.OProj, l.GateProj, l.UpProj, l.DownProj]);
        matrices.Add(model.Head.Weight);
        var x = new float[Math.Max(model.Config.HiddenSize, model.Config.IntermediateSize)];
        var rng = new Random(1);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        var y = new float[matrices.Max(m => m.Rows)];
        var types = matrices.Select(m => m.Type).Distinct().OrderBy(t => t).ToArray();
        var times = types.Select(_ => new List<double>()).ToArray();
        var probe = new List<double>();
        using var pass = new MachineProbe.ReadPass(1L << 30, hugePages: true);
        for (int r = 0; r <= repeats; r++)
        {
            double p = pass.Seconds();
            if (r > 0) probe.Add(p);
            for (int k = 0; k < types.Length; k++)
            {
                var sw = Stopwatch.StartNew();
                foreach (var m in matrices)
                    if (m.Type == types[k]) MatMul.Multiply(model.Compute, x.AsSpan(0, m.Cols), 1, m, y.AsSpan(0, m.Rows));
                if (r > 0) times[k].Add(sw.Elapsed.TotalSeconds);
            }
        }
        var streams = types.Select((t, k) =>
            new Stream(t, matrices.Count(m => m.Type == t), matrices.Where(m => m.Type == t).Sum(m => m.ByteCount), Median(times[k]))).ToArray();
        return new Result(streams, pass.Bytes / Median(probe) / 1e9);
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
