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

    /// <summary>Decode (one activation row) splits a matrix's groups among the pool's threads in chunks of at least this
    /// many groups: long runs, one memory stream each.</summary>
    internal const int DecodeMinChunk = 16;

    [ThreadStatic] private static Int8Activations? t_acts;
    [ThreadStatic] private static Job? t_job;

    public static void Multiply(Compute compute, ReadOnlySpan<float> x, int n, WeightMatrix w, Span<float> y, ReadOnlySpan<float> bias)
    {
        var acts = t_acts ??= new Int8Activations();
        acts.Quantize(compute.Pool, x, n, w.Cols, w.Type);
        fixed (float* py = y, pb = bias)
        {
            var job = t_job ??= new Job();
            job.W = w; job.Acts = acts; job.Y = py; job.Bias = bias.IsEmpty ? null : pb; job.N = n; job.Isa = compute.Isa;
            job.Kernels = compute.Generated?.Int8 is { } k && Int8DotKernels.Supports(w.Type) ? k : null;
            int groups = InterleavedLayout.Groups(w.Rows);
            // decode: long runs per thread (one stream each); batches: finer chunks, compute-bound
            compute.Pool.For(groups, job, n == 1 ? DecodeMinChunk : 2);
            job.W = null!; job.Acts = null!; job.Kernels = null;
        }
    }

    private sealed class Job : IRangeJob
    {
        public WeightMatrix W = null!;
        public Int8Activations Acts = null!;
        public float* Y, Bias;
        public int N;
        public Isa Isa;
        public Int8DotKernels? Kernels;

        public void Execute(int start, int end)
        {
            int rows = W.Rows, full = rows / Lanes;
            long groupBytes = InterleavedLayout.GroupBytes(W.Type, W.Cols);
            int blocks = W.Cols / DTypeInfo.BlockSize(W.Type);
            var tiles = Acts.Tiles;
            float* scratch = stackalloc float[Int8Activations.MaxTileActs * Lanes];
            int fullEnd = Math.Min(end, full), first = start;
            if (Kernels != null && tiles.Count == 1 && start < fullEnd)
            {
                // one activation tile (decode, small batches): the kernel walks the whole run of groups itself
                Run(tiles[0], start, fullEnd - start, (byte*)W.Data + start * groupBytes, blocks, Y + tiles[0].First * (long)rows + start * Lanes, 4L * rows);
                start = fullEnd;
            }
            for (int g = start; g < end; g++)
            {
                byte* group = (byte*)W.Data + g * groupBytes;
                int valid = Math.Min(Lanes, rows - g * Lanes);
                foreach (var tile in tiles)
                {
                    float* yTile = Y + tile.First * (long)rows + g * Lanes;
                    if (Kernels != null && valid == Lanes) Run(tile, g, 1, group, blocks, yTile, 4L * rows);
                    else
                    {
                        // a group with padding rows, or managed code: 16 results per activation into scratch first
                        if (Kernels != null) Run(tile, g, 1, group, blocks, scratch, 4L * Lanes);
                        else ManagedInt8Kernel.Group(W.Type, Isa, group, blocks, tile, scratch);
                        for (int a = 0; a < tile.Acts; a++)
                            new ReadOnlySpan<float>(scratch + a * Lanes, valid).CopyTo(new Span<float>(yTile + (long)a * rows, valid));
                    }
                }
            }
            if (Bias != null) AddBias(first * Lanes, Math.Min(rows, end * Lanes));
        }

        private void Run(Int8Activations.Tile tile, int g, int groups, byte* w, int blocks, float* y, long yStride)
        {
            Int8DotArgs args;
            args.W = (nint)w; args.Groups = groups; args.Blocks = blocks;
            args.XQ = tile.Q; args.XD = tile.D; args.XC = tile.C; args.XM = tile.M;
            args.Y = (nint)y; args.YStride = yStride;
            Kernels!.Kernel(W.Type, tile.Acts)(&args);
        }

        private void AddBias(int r0, int r1)
        {
            for (int i = 0; i < N; i++)
            {
                float* yi = Y + (long)i * W.Rows;
                for (int r = r0; r < r1; r++) yi[r] += Bias[r];
            }
        }
    }
}
