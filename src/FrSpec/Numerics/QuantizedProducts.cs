using FrSpec.Numerics.CodeGen;
using FrSpec.Numerics.Quantized;

namespace FrSpec.Numerics;

/// <summary>
/// y = x·Wᵀ (+ bias) for block-quantized weights (Q8_0, Q4_0, Q4_K, Q6_K) in the fast precision: the activation rows are
/// quantized to int8 per block of 32 (<see cref="Int8Activations"/>), then every group of 16 interleaved weight rows
/// (<see cref="InterleavedLayout"/>) meets every tile of up to 16 activation rows in a generated vpdpbusd kernel
/// (<see cref="Int8DotKernels"/>), their AVX2 equivalent (<see cref="Avx2Int8Kernel"/>) or the reference (<see cref="ManagedInt8Kernel"/>); all return the same bits.
/// Decoding hands each thread runs of groups, read front to back (one memory stream each), and decode's products that
/// share an input (q/k/v, gate/up) run as one region over all their groups; batches walk group by group, the group's
/// bytes staying in cache while each activation tile passes over them.
/// </summary>
internal static unsafe class QuantizedProducts
{
    private const int Lanes = InterleavedLayout.GroupRows;

    /// <summary>Decode (one activation row) splits a matrix's groups among the pool's threads in chunks of at least this
    /// many groups: long runs, one memory stream each, shrinking towards the region's end (<see cref="WorkerPool.ForTapering"/>:
    /// 0.94–1.00 of the equal shares' decode step time over six A/B runs of 7–40 rounds on Q4_0, Q4_K_M and Q8_0 files).</summary>
    internal const int DecodeMinChunk = 16;

    /// <summary>Batches split a region's groups into chunks of at least this many groups, at most
    /// <see cref="BatchChunksPerThread"/> per thread (tuning).</summary>
    internal static int BatchMinChunk = 2, BatchChunksPerThread = WorkerPool.DefaultChunksPerThread;

    [ThreadStatic] private static Int8Activations? t_acts;
    [ThreadStatic] private static Job? t_job;

    public static void Multiply(Compute compute, ReadOnlySpan<float> x, int n, WeightMatrix w, Span<float> y, ReadOnlySpan<float> bias)
    {
        fixed (float* py = y, pb = bias)
        {
            Span<PanelProducts.Output> one = [new() { W = w, Y = py, Bias = bias.IsEmpty ? null : pb }];
            MultiplyShared(compute, x, n, one);
        }
    }

    /// <summary>Whether <see cref="MultiplyShared"/> applies: matrices of one quantized type and width (the activation rows
    /// are quantized for that type), for decode and for batches alike.</summary>
    public static bool CanShare(WeightMatrix w0, WeightMatrix w1, WeightMatrix? w2) =>
        w0.IsQuantized && w1.Type == w0.Type && w1.Cols == w0.Cols && (w2 == null || (w2.Type == w0.Type && w2.Cols == w0.Cols));

    /// <summary>
    /// Products of one input with two or three matrices (q/k/v, gate/up; see <see cref="CanShare"/>) for
    /// <paramref name="n"/> rows: the rows are quantized once and one parallel region walks the groups of every matrix,
    /// one matrix after the other. Decode's threads then stream one run of runs instead of starting two or three regions
    /// (a small matrix such as k or v alone is only one or two runs), and a batch's small matrices do not each pay a pool
    /// round and its idle tail (q/k/v of a 16-row pass: 12.1–12.5 ms before, 8.2 after, `bench components` on the Q8_0 1B
    /// shape). Each matrix's results are the same bits as its own <see cref="Multiply"/>.
    /// </summary>
    public static void MultiplyShared(Compute compute, ReadOnlySpan<float> x, int n, ReadOnlySpan<PanelProducts.Output> outputs)
    {
        var w = outputs[0].W;
        var acts = t_acts ??= new Int8Activations();
        acts.Quantize(compute.Pool, x, n, w.Cols, w.Type);
        var job = t_job ??= new Job();
        int groups = 0;
        for (int j = 0; j < outputs.Length; j++)
        {
            job.Outputs[j] = outputs[j];
            job.FirstGroup[j] = groups;
            groups += InterleavedLayout.Groups(outputs[j].W.Rows);
        }
        job.Count = outputs.Length; job.Acts = acts; job.N = n;
        job.Kernels = compute.Generated?.Int8 is { } k && Int8DotKernels.Supports(w.Type) ? k : null;
        // every managed SIMD path (AVX2, AVX-VNNI, AVX-512 without generated code) runs the AVX2 kernel: same bits as the
        // scalar definition, which only the portable path uses
        job.Avx2 = job.Kernels == null && compute.Isa != Isa.Portable && Avx2Int8Kernel.IsSupported;
        // decode: long runs per thread (one stream each), shrinking towards the region's end; batches: finer chunks, compute-bound
        if (n == 1) compute.Pool.ForTapering(groups, job, DecodeMinChunk);
        else compute.Pool.For(groups, job, BatchMinChunk, BatchChunksPerThread);
        for (int j = 0; j < outputs.Length; j++) job.Outputs[j] = default;
        job.Acts = null!; job.Kernels = null;
    }

    private sealed class Job : IRangeJob
    {
        /// <summary>The matrices of one call, and where each one's groups start in the region's index range.</summary>
        public readonly PanelProducts.Output[] Outputs = new PanelProducts.Output[3];
        public readonly int[] FirstGroup = new int[3];
        public int Count;
        public Int8Activations Acts = null!;
        public int N;
        public Int8DotKernels? Kernels;
        /// <summary>No generated kernels, and a managed SIMD path: <see cref="Avx2Int8Kernel"/>.</summary>
        public bool Avx2;

        public void Execute(int start, int end)
        {
            for (int j = 0; j < Count; j++)
            {
                int first = FirstGroup[j], groups = InterleavedLayout.Groups(Outputs[j].W.Rows);
                int s = Math.Max(start, first) - first, e = Math.Min(end, first + groups) - first;
                if (s >= e) continue;
                ExecuteMatrix(Outputs[j].W, Outputs[j].Y, Outputs[j].Bias, s, e);
            }
        }

        private void ExecuteMatrix(WeightMatrix w, float* y, float* bias, int start, int end)
        {
            int rows = w.Rows, full = rows / Lanes;
            long groupBytes = InterleavedLayout.GroupBytes(w.Type, w.Cols);
            int blocks = w.Cols / DTypeInfo.BlockSize(w.Type);
            var tiles = Acts.Tiles;
            float* scratch = stackalloc float[Int8Activations.MaxTileActs * Lanes];
            int fullEnd = Math.Min(end, full), first = start;
            bool runs = Kernels != null || Avx2; // kernels that walk runs of groups and write with a stride
            if (runs && tiles.Count == 1 && start < fullEnd)
            {
                // one activation tile (decode, small batches): the kernel walks the whole run of groups itself
                Run(w.Type, tiles[0], fullEnd - start, (byte*)w.Data + start * groupBytes, blocks, y + tiles[0].First * (long)rows + start * Lanes, rows);
                start = fullEnd;
            }
            for (int g = start; g < end; g++)
            {
                byte* group = (byte*)w.Data + g * groupBytes;
                int valid = Math.Min(Lanes, rows - g * Lanes);
                for (int t = 0; t < tiles.Count; t++) // indexed: foreach over the interface boxed an enumerator per group
                {
                    var tile = tiles[t];
                    float* yTile = y + tile.First * (long)rows + g * Lanes;
                    if (runs && valid == Lanes) Run(w.Type, tile, 1, group, blocks, yTile, rows);
                    else
                    {
                        // a group with padding rows, or the reference code: 16 results per activation into scratch first
                        if (runs) Run(w.Type, tile, 1, group, blocks, scratch, Lanes);
                        else ManagedInt8Kernel.Group(w.Type, group, blocks, tile, scratch);
                        for (int a = 0; a < tile.Acts; a++)
                            new ReadOnlySpan<float>(scratch + a * Lanes, valid).CopyTo(new Span<float>(yTile + (long)a * rows, valid));
                    }
                }
            }
            if (bias != null) AddBias(w, y, bias, first * Lanes, Math.Min(rows, end * Lanes));
        }

        /// <summary>Groups [0, <paramref name="groups"/>) from <paramref name="w"/> against <paramref name="tile"/> in the generated
        /// kernel or the AVX2 one; results of activation a, group g at y + a·<paramref name="yStride"/> + 16g (floats).</summary>
        private void Run(DType type, Int8Activations.Tile tile, int groups, byte* w, int blocks, float* y, long yStride)
        {
            if (Kernels == null)
            {
                Avx2Int8Kernel.Run(type, w, groups, blocks, tile, y, yStride);
                return;
            }
            Int8DotArgs args;
            args.W = (nint)w; args.Groups = groups; args.Blocks = blocks;
            args.XQ = tile.Q; args.XD = tile.D; args.XC = tile.C; args.XM = tile.M;
            args.Y = (nint)y; args.YStride = 4 * yStride;
            Kernels.Kernel(type, tile.Acts)(&args);
        }

        private void AddBias(WeightMatrix w, float* y, float* bias, int r0, int r1)
        {
            for (int i = 0; i < N; i++)
            {
                float* yi = y + (long)i * w.Rows;
                for (int r = r0; r < r1; r++) yi[r] += bias[r];
            }
        }
    }
}
