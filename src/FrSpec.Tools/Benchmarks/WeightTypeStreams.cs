using System.Diagnostics;
using System.Runtime.Intrinsics;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Numerics.CodeGen;

namespace FrSpec.Benchmarks;

/// <summary>
/// Decode's matrix products split by weight type: every matrix of one type (the layers' projections and the LM head)
/// multiplied by one activation row, in model order, as a decode step reads them. The bytes over the median time give
/// each type's streaming rate, to set beside the machine's read bandwidth measured in the same run: a mixed file (Q4_K_M)
/// shows which of its block types falls short of the roofline. Each round runs, back to back: a read pass over 1 GiB (huge
/// pages; long streams, the machine's bandwidth at that moment), then per type the products and a plain read of the same
/// matrices' bytes in the same order with the same split among the threads (<see cref="Stream.SameReadGBps"/>): the roofline
/// of that access pattern, which pays the same stream starts (dozens of short runs per matrix) and parallel regions as
/// the products but does no arithmetic. Both rooflines are measured at the same moments, since bandwidth drifts on a
/// shared host.
/// </summary>
public static class WeightTypeStreams
{
    /// <summary>One weight type's share of a decode step, and the read of the same bytes in the same pattern.</summary>
    /// <param name="Type">The weight type.</param>
    /// <param name="Matrices">Its matrices in one decode step.</param>
    /// <param name="Bytes">Their bytes.</param>
    /// <param name="MedianSeconds">Median seconds of their products with one activation row, called as decode calls them.</param>
    /// <param name="MedianReadSeconds">Median seconds of a plain read of the same bytes in the same order and split.</param>
    /// <param name="InCacheGBps">One thread's generated one-row kernel on the type's first matrix with its weights in cache
    /// (<see cref="InCache"/>), or null without generated int8 kernels.</param>
    public sealed record Stream(DType Type, int Matrices, long Bytes, double MedianSeconds, double MedianReadSeconds, double? InCacheGBps)
    {
        public double GBps => Bytes / MedianSeconds / 1e9;

        /// <summary>GB/s of reading these matrices as the products do (same order, same split), without computing.</summary>
        public double SameReadGBps => Bytes / MedianReadSeconds / 1e9;
    }

    /// <summary>Each type's products and the interleaved read bandwidth (GB/s), medians over the measured
    /// rounds after one warm-up round.</summary>
    public sealed record Result(IReadOnlyList<Stream> Streams, double BandwidthGBps);

    /// <summary>Measures every weight type of <paramref name="model"/> (see the class summary).</summary>
    public static Result Measure(Transformer model, int repeats)
    {
        // decode's calls: q/k/v and gate/up share their input (MatMul.MultiplyShared), o, down and the head are alone
        var steps = new List<WeightMatrix[]>();
        foreach (var l in model.Layers) steps.AddRange([[l.QProj, l.KProj, l.VProj], [l.OProj], [l.GateProj, l.UpProj], [l.DownProj]]);
        steps.Add([model.Head.Weight]);
        var matrices = steps.SelectMany(s => s).ToList();
        var x = new float[Math.Max(model.Config.HiddenSize, model.Config.IntermediateSize)];
        var rng = new Random(1);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        var y = new float[3 * matrices.Max(m => m.Rows)];
        var types = matrices.Select(m => m.Type).Distinct().OrderBy(t => t).ToArray();
        var times = types.Select(_ => new List<double>()).ToArray();
        var reads = types.Select(_ => new List<double>()).ToArray();
        var probe = new List<double>();
        var reader = new MatrixRead();
        using var pass = new MachineProbe.ReadPass(1L << 30, hugePages: true);
        for (int r = 0; r <= repeats; r++)
        {
            double p = pass.Seconds();
            if (r > 0) probe.Add(p);
            for (int k = 0; k < types.Length; k++)
            {
                var sw = Stopwatch.StartNew();
                foreach (var step in steps) Multiply(model.Compute, x, step, types[k], y);
                if (r > 0) times[k].Add(sw.Elapsed.TotalSeconds);
                sw.Restart();
                foreach (var step in steps) reader.Read(model.Compute, step, types[k]);
                if (r > 0) reads[k].Add(sw.Elapsed.TotalSeconds);
            }
        }
        var streams = types.Select((t, k) =>
            new Stream(t, matrices.Count(m => m.Type == t), matrices.Where(m => m.Type == t).Sum(m => m.ByteCount), PairedMeasurement.Median(times[k]), PairedMeasurement.Median(reads[k]),
                InCache(model.Compute, matrices.First(m => m.Type == t)))).ToArray();
        return new Result(streams, pass.Bytes / PairedMeasurement.Median(probe) / 1e9);
    }

    /// <summary>The matrices of one decode call that have type <paramref name="type"/>, multiplied as decode multiplies
    /// them (two or three in one shared call when they can share it).</summary>
    private static void Multiply(Compute compute, float[] x, WeightMatrix[] step, DType type, float[] y)
    {
        var ms = step.Where(m => m.Type == type).ToArray();
        if (ms.Length >= 2 && QuantizedProducts.CanShare(ms[0], ms[1], ms.Length > 2 ? ms[2] : null))
        {
            int r0 = ms[0].Rows, r1 = ms[1].Rows;
            var y2 = ms.Length > 2 ? y.AsSpan(r0 + r1, ms[2].Rows) : default;
            MatMul.MultiplyShared(compute, x.AsSpan(0, ms[0].Cols), 1, ms[0], y.AsSpan(0, r0), default, ms[1], y.AsSpan(r0, r1), default,
                ms.Length > 2 ? ms[2] : null, y2, default);
        }
        else
            foreach (var m in ms) MatMul.Multiply(compute, x.AsSpan(0, m.Cols), 1, m, y.AsSpan(0, m.Rows));
    }

    /// <summary>Reads matrices' bytes on the pool's threads as decode's quantized products split them: the 16-row groups of
    /// one call's matrices (all of them when the call is shared) in runs that shrink towards the region's end, down to
    /// <see cref="QuantizedProducts.DecodeMinChunk"/> groups (<see cref="WorkerPool.ForTapering"/>), one parallel region
    /// per call (float matrices in as many 16-row runs).</summary>
    private sealed unsafe class MatrixRead : IRangeJob
    {
        private readonly (nint Base, long Bytes, long GroupBytes, int FirstGroup)[] _matrices = new (nint, long, long, int)[3];
        private int _count;
        public float Sink;

        public void Read(Compute compute, WeightMatrix[] step, DType type)
        {
            var ms = step.Where(m => m.Type == type).ToArray();
            bool shared = ms.Length >= 2 && QuantizedProducts.CanShare(ms[0], ms[1], ms.Length > 2 ? ms[2] : null);
            foreach (var part in shared ? [ms] : ms.Select(m => new[] { m }))
            {
                int groups = 0;
                _count = part.Length;
                for (int j = 0; j < part.Length; j++)
                {
                    int g = Numerics.Quantized.InterleavedLayout.Groups(part[j].Rows);
                    _matrices[j] = (part[j].Address, part[j].ByteCount, part[j].ByteCount / g, groups);
                    groups += g;
                }
                compute.Pool.ForTapering(groups, this, QuantizedProducts.DecodeMinChunk);
            }
        }

        public void Execute(int start, int end)
        {
            var acc = Vector256<float>.Zero;
            var acc2 = Vector256<float>.Zero;
            for (int j = 0; j < _count; j++)
            {
                var (b, bytes, groupBytes, first) = _matrices[j];
                long from = Math.Max(0, start - first) * groupBytes, to = Math.Min(bytes, Math.Max(0, end - first) * groupBytes);
                float* p = (float*)(b + (nint)from);
                for (long i = 0; i + 16 <= (to - from) / 4; i += 16)
                {
                    acc += Vector256.Load(p + i);
                    acc2 += Vector256.Load(p + i + 8);
                }
            }
            Sink += Vector256.Sum(acc + acc2);
        }
    }

    /// <summary>
    /// GB/s of file bytes that one thread's generated one-row (decode) kernel processes with the weights in cache: the
    /// first groups of <paramref name="m"/>, up to 512 KiB (the L2 of most cores), multiplied again and again. This is the
    /// kernel's own ceiling (instruction issue); a type whose in-cache rate is not well above one core's share of the read
    /// bandwidth cannot stream at the roofline. Null for types without a generated int8 kernel.
    /// </summary>
    private static unsafe double? InCache(Compute compute, WeightMatrix m)
    {
        if (compute.Generated?.Int8 is not { } kernels || !Int8DotKernels.Supports(m.Type)) return null;
        long groupBytes = Numerics.Quantized.InterleavedLayout.GroupBytes(m.Type, m.Cols);
        int fullGroups = m.Rows / Numerics.Quantized.InterleavedLayout.GroupRows;
        if (fullGroups == 0) return null;
        int groups = (int)Math.Clamp((512 << 10) / groupBytes, 1, fullGroups);
        var acts = new Numerics.Quantized.Int8Activations();
        var x = new float[m.Cols];
        var rng = new Random(2);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        acts.Quantize(compute.Pool, x, 1, m.Cols, m.Type);
        var tile = acts.Tiles[0];
        var y = new float[16 * groups];
        var kernel = kernels.Kernel(m.Type, 1);
        var times = new List<double>();
        fixed (float* py = y)
        {
            Int8DotArgs args;
            args.W = m.Address; args.Groups = groups; args.Blocks = m.Cols / DTypeInfo.BlockSize(m.Type);
            args.XQ = tile.Q; args.XD = tile.D; args.XC = tile.C; args.XM = tile.M;
            args.Y = (nint)py; args.YStride = 4L * y.Length;
            int passes = (int)Math.Max(1, (64L << 20) / (groups * groupBytes)); // about 64 MB of weights per sample
            for (int r = 0; r <= 5; r++)
            {
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < passes; i++) kernel(&args);
                if (r > 0) times.Add(sw.Elapsed.TotalSeconds / passes);
            }
        }
        return groups * groupBytes / PairedMeasurement.Median(times) / 1e9;
    }
}
