using System.Diagnostics;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Benchmarks;

/// <summary>
/// Decode's matrix products split by weight type: every matrix of one type (the layers' projections and the LM head)
/// multiplied by one activation row, in model order, as a decode step reads them. The bytes over the median time give
/// each type's streaming rate, to set beside the machine's read bandwidth measured in the same run: a mixed file (Q4_K_M)
/// shows which of its block types falls short of the roofline.
/// </summary>
public static class WeightTypeStreams
{
    /// <summary>One weight type's share of a decode step.</summary>
    public sealed record Stream(DType Type, int Matrices, long Bytes, double MedianSeconds)
    {
        public double GBps => Bytes / MedianSeconds / 1e9;
    }

    /// <summary>Median over <paramref name="repeats"/> rounds (after one warm-up round) of each type's products.</summary>
    public static IReadOnlyList<Stream> Measure(Transformer model, int repeats)
    {
        var matrices = new List<WeightMatrix>();
        foreach (var l in model.Layers) matrices.AddRange([l.QProj, l.KProj, l.VProj, l.OProj, l.GateProj, l.UpProj, l.DownProj]);
        matrices.Add(model.Head.Weight);
        var x = new float[Math.Max(model.Config.HiddenSize, model.Config.IntermediateSize)];
        var rng = new Random(1);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        var y = new float[matrices.Max(m => m.Rows)];
        var result = new List<Stream>();
        foreach (var type in matrices.Select(m => m.Type).Distinct().OrderBy(t => t))
        {
            var ofType = matrices.Where(m => m.Type == type).ToArray();
            var times = new List<double>();
            for (int r = 0; r <= repeats; r++)
            {
                var sw = Stopwatch.StartNew();
                foreach (var m in ofType) MatMul.Multiply(model.Compute, x.AsSpan(0, m.Cols), 1, m, y.AsSpan(0, m.Rows));
                if (r > 0) times.Add(sw.Elapsed.TotalSeconds);
            }
            times.Sort();
            result.Add(new Stream(type, ofType.Length, ofType.Sum(m => m.ByteCount), times[times.Count / 2]));
        }
        return result;
    }
}
