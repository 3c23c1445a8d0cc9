using FrSpec.Numerics.CodeGen;
using FrSpec.Numerics.Quantized;

namespace FrSpec.Numerics;

/// <summary>
/// y = x·Wᵀ (+ bias) for block-quantized weights (Q8_0, Q4_0, Q4_K, Q6_K) in the fast precision: the activation rows are
/// quantized to int8 per block of 32 (<see cref="Int8Activations"/>), then every group of 16 interleaved weight rows
/// (<see cref="InterleavedLayout"/>) meets every tile of up to 16 activation rows in a generated vpdpbusd kernel
/// (<see cref="Int8DotKernels"/>) or its managed equivalent (<see cref="ManagedInt8Kernel"/>); all return the same bits.
/// Decoding hands each thread one run of groups, read front to back (one memory stream); batches walk group by group,
/// the group's bytes staying in cache while each activation tile passes over them.
/// </summary>
internal static unsafe class QuantizedProducts
{
    private const int Lanes = InterleavedLayout.GroupRows;

    [ThreadStatic] private static Int8Activations? t_acts;
    [ThreadStatic] private static Job? t_job;

    public static void Multiply(Compute compute, ReadOnlySpan<float> x, int n, WeightMatrix w, Span<float> y, ReadOnlySpan<float> bias)
    {
        fixed (float* py = y, pb = bias)
            Multiply(compute, x, n, [new PanelProducts.Output { W = w, Y = py, Bias = bias.IsEmpty ? null : pb }]);
    }

    /// <summary>Whether <see cref="Multiply(Compute, ReadOnlySpan{float}, int, ReadOnlySpan{PanelProducts.Output})"/> can
    /// serve these matrices together: one weight type and width, so one quantized copy of the activations serves them all.</summary>
    public static bool CanShare(WeightMatrix w0, WeightMatrix w1, WeightMatrix? w2) =>
        w0.IsQuantized && w1.Type == w0.Type && w1.Cols == w0.Cols && (w2 == null || (w2.Type == w0.Type && w2.Cols == w0.Cols));

    /// <summary>
    /// Products of one input with up to <see cref="PanelProducts.MaxOutputs"/> matrices of one type and width (q/k/v,
    /// gate/up): the activations are quantized once and every matrix's groups share one pass of the worker pool, so the
    /// small ones (k, v) do not each pay a pool round and its idle tail. Each group meets the same kernel and tiles as it
    /// would alone, so the results are the same bits.
    /// </summary>
    public static void Multiply(Compute compute, ReadOnlySpan<float> x, int n, ReadOnlySpan<PanelProducts.Output> outputs)
    {
        var w0 = outputs[0].W;
        var acts = t_acts ??= new Int8Activations();
        acts.Quantize(compute.Pool, x, n, w0.Cols, w0.Type);
        var job = t_job ??= new Job();
        job.Acts = acts; job.N = n; job.Isa = compute.Isa; job.Count = outputs.Length;
        job.Kernels = compute.Generated?.Int8 is { } k && Int8DotKernels.Supports(w0.Type) ? k : null;
        int groups = 0;
        for (int i = 0; i < outputs.Length; i++)
        {
            job.Outputs[i] = outputs[i];
            job.FirstGroup[i] = groups;
            groups += InterleavedLayout.Groups(outputs[i].W.Rows);
        }
        job.FirstGroup[outputs.Length] = groups;
        // decode: long runs per thread (one stream each); batches: finer chunks, compute-bound
        compute.Pool.For(groups, job, n == 1 ? 16 : 2);
        job.Acts = null!; job.Kernels = null;
        for (int i = 0; i < outputs.Length; i++) job.Outputs[i] = default;
    }

    private sealed class Job : IRangeJob
    {
        public readonly PanelProducts.Output[] Outputs = new PanelProducts.Output[PanelProducts.MaxOutputs];
        /// <summary>Where each matrix's groups start in the shared range (one more entry: the end).</summary>
        public readonly int[] FirstGroup = new int[PanelProducts.MaxOutputs + 1];
        public int Count;
        public Int8Activations Acts = null!;
        public int N;
        public Isa Isa;
        public Int8DotKernels? Kernels;

        public void Execute(int start, int end)
        {
            for (int i = 0; i < Count; i++)
            {
                int s = Math.Max(start, FirstGroup[i]) - FirstGroup[i], e = Math.Min(end, FirstGroup[i + 1]) - FirstGroup[i];
                if (s < e) Execute(Outputs[i], s, e);
            }
        }

        /// <summary>Groups [start, end) of one matrix.</summary>
        private void Execute(in PanelProducts.Output o, int start, int end)
        {
            var w = o.W;
            int rows = w.Rows, full = rows / Lanes;
            long groupBytes = InterleavedLayout.GroupBytes(w.Type, w.Cols);
            int blocks = w.Cols / DTypeInfo.BlockSize(w.Type);
            var tiles = Acts.Tiles;
            float* scratch = stackalloc float[Int8Activations.MaxTileActs * Lanes];
            int fullEnd = Math.Min(end, full), first = start;
            if (Kernels != null && tiles.Count == 1 && start < fullEnd)
            {
                // one activation tile (decode, small batches): the kernel walks the whole run of groups itself
                Run(w.Type, tiles[0], fullEnd - start, (byte*)w.Data + start * groupBytes, blocks, o.Y + tiles[0].First * (long)rows + start * Lanes, 4L * rows);
                start = fullEnd;
            }
            for (int g = start; g < end; g++)
            {
                byte* group = (byte*)w.Data + g * groupBytes;
                int valid = Math.Min(Lanes, rows - g * Lanes);
                for (int t = 0; t < tiles.Count; t++) // indexed: foreach over the interface boxed an enumerator per group
                {
                    var tile = tiles[t];
                    float* yTile = o.Y + tile.First * (long)rows + g * Lanes;
                    if (Kernels != null && valid == Lanes) Run(w.Type, tile, 1, group, blocks, yTile, 4L * rows);
                    else
                    {
                        // a group with padding rows, or managed code: 16 results per activation into scratch first
                        if (Kernels != null) Run(w.Type, tile, 1, group, blocks, scratch, 4L * Lanes);
                        else ManagedInt8Kernel.Group(w.Type, Isa, group, blocks, tile, scratch);
                        for (int a = 0; a < tile.Acts; a++)
                            new ReadOnlySpan<float>(scratch + a * Lanes, valid).CopyTo(new Span<float>(yTile + (long)a * rows, valid));
                    }
                }
            }
            if (o.Bias != null)
                for (int i = 0; i < N; i++)
                {
                    float* yi = o.Y + (long)i * rows;
                    for (int r = first * Lanes, r1 = Math.Min(rows, end * Lanes); r < r1; r++) yi[r] += o.Bias[r];
                }
        }

        private void Run(DType type, Int8Activations.Tile tile, int groups, byte* w, int blocks, float* y, long yStride)
        {
            Int8DotArgs args;
            args.W = (nint)w; args.Groups = groups; args.Blocks = blocks;
            args.XQ = tile.Q; args.XD = tile.D; args.XC = tile.C; args.XM = tile.M;
            args.Y = (nint)y; args.YStride = yStride;
            Kernels!.Kernel(type, tile.Acts)(&args);
        }
    }
}
