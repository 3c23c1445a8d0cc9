using System.Runtime.CompilerServices;
using FrSpec.Numerics.CodeGen;

namespace FrSpec.Numerics;

/// <summary>
/// Drives the generated panel kernels for <see cref="MatMul"/> (fast precision, bf16 weights in
/// <see cref="WeightLayout.Bf16Panels"/>): rounds the activations to bf16 and interleaves them by column pair once per
/// call, then splits the panels over the worker pool. Each thread walks a contiguous run of panels, so it reads its
/// share of the weights as one sequential stream.
///
/// Up to 12 activation rows go through one kernel call per panel over the whole K. More rows are split into blocks of
/// at most 12, and K into chunks sized for L2: every block passes over a chunk while it is in L2, so the weights come from
/// memory once whatever the number of rows, and partial sums wait in Y (exact fp32 stores). While the blocks compute,
/// each call prefetches the same stretch of the next chunk, so memory keeps streaming during the passes that hit L2.
/// </summary>
internal static unsafe class PanelProducts
{
    /// <summary>Bytes of L2 a K chunk may fill with its panel slice and activations, and the longest chunk (tuning).</summary>
    internal static int ChunkBudget = 256 << 10, MaxChunkSteps = 1024;

    /// <summary>Bytes ahead of the weights that a single-block call prefetches (0: leave it to the hardware) (tuning). One
    /// thread alone over a 134 MB matrix gains from a deeper queue (8 rows: 72% of its vdpbf16ps peak 4 KB ahead, 80% at
    /// 16 KB, 86% at 64 KB; `bench bf16-tile --acts 8 12 --matrix-rows 8192 --matrix-cols 8192 --variant default
    /// a16k:ahead=16384 a64k:ahead=65536`), but with both threads streaming a whole pass's products it does not: 8 rows
    /// took 67.6 ms 4 KB ahead, 71.0 at 16 KB and 71.3 at 64 KB (medians of 31 alternating rounds, `bench products --rows 8
    /// 12 16`; 67.4, 69.7, 71.8 in a second run; within 2% at 12 rows), on a slow bus (~30 GB/s). No prefetch loses 5–9%.</summary>
    internal static long PrefetchAhead = 4096;

    /// <summary>Whether multi-block calls spread the prefetching of the next chunk over the blocks (tuning).</summary>
    internal static bool PrefetchNextChunk = true;

    /// <summary>Work of a pool chunk in products of more than one row block, in panel steps (tuning): 8 panels of a
    /// 2048-wide matrix, ~0.15 ms at 32 rows.</summary>
    internal static int ChunkSteps = 8192;

    /// <summary>Pool chunks per thread of one-block products (decode, trees of up to 12 rows) (tuning): each chunk is one
    /// run of panels, one memory stream.</summary>
    internal static int OneBlockChunksPerThread = WorkerPool.DefaultChunksPerThread;

    [ThreadStatic] private static Job? t_job;
    [ThreadStatic] private static ushort[]? t_x;
    [ThreadStatic] private static PackJob? t_pack;

    /// <summary>One matrix of a product: its panels write Y [n, W.Rows] (+ Bias, or null).</summary>
    internal struct Output
    {
        public WeightMatrix W;
        public float* Y, Bias;
    }

    /// <summary>The most matrices one call may share an input among (q/k/v).</summary>
    public const int MaxOutputs = 3;

    public static void Multiply(Compute compute, Bf16PanelKernels kernels, ReadOnlySpan<float> x, int n, WeightMatrix w, Span<float> y, ReadOnlySpan<float> bias)
    {
        fixed (float* py = y, pb = bias)
        {
            Span<Output> one = [new Output { W = w, Y = py, Bias = bias.IsEmpty ? null : pb }];
            Multiply(compute, kernels, x, n, one);
        }
    }

    /// <summary>Products of one input with up to <see cref="MaxOutputs"/> matrices of the same width (q/k/v, gate/up): x is
    /// packed once and one pass of the pool covers the panels of all of them, so the threads synchronise once and share
    /// the work evenly. Each output gets the same bits as a call of its own.</summary>
    public static void Multiply(Compute compute, Bf16PanelKernels kernels, ReadOnlySpan<float> x, int n, ReadOnlySpan<Output> outputs)
    {
        int cols = outputs[0].W.Cols, steps = Bf16Panels.Steps(cols);
        int need = steps * 2 * n + 32;
        if (t_x == null || t_x.Length < need) t_x = GC.AllocateUninitializedArray<ushort>(Math.Max(need, 4096), pinned: true);
        fixed (ushort* buffer = t_x)
        {
            // packed activations start on a cache line
            uint* xp = (uint*)(buffer + (int)((64 - ((nint)buffer & 63)) & 63) / 2);
            PackActivations(compute, x, n, cols, xp);
            var job = t_job ??= new Job();
            job.Kernels = kernels; job.X = xp; job.N = n; job.Count = outputs.Length;
            int panels = 0;
            for (int i = 0; i < outputs.Length; i++)
            {
                if (outputs[i].W.Cols != cols) throw new ArgumentException("matrices sharing an input must have the same width");
                job.Outputs[i] = outputs[i];
                job.First[i] = panels;
                panels += Bf16Panels.Count(outputs[i].W.Rows);
            }
            job.First[outputs.Length] = panels;
            // One row block reads the weights once from memory, a stream best kept long. More blocks compute out of L2 and
            // the region ends when both threads have, so a chunk is what one thread can be left waiting for: finer chunks,
            // each still a run of panels, since a chunk's first stretch of weights is not prefetched (see Job).
            if (Blocks(n) == 1) compute.Pool.For(panels, job, 1, OneBlockChunksPerThread);
            else
            {
                int perChunk = Math.Max(1, ChunkSteps / steps), threads = compute.Pool.Threads;
                compute.Pool.For(panels, job, perChunk, Math.Max(WorkerPool.DefaultChunksPerThread, (panels / perChunk + threads - 1) / threads));
            }
            job.Kernels = null!;
            Array.Clear(job.Outputs);
        }
    }

    /// <summary>Blocks of at most 12 activation rows for n rows, of even size (16 = 8 + 8, not 12 + 4: a narrow block
    /// uses the weights it loads less).</summary>
    private static int Blocks(int n) => (n + Bf16PanelKernels.MaxActs - 1) / Bf16PanelKernels.MaxActs;

    /// <summary>Rows of block b, given the rows i0 that the blocks before it took.</summary>
    private static int BlockRows(int n, int blocks, int b, int i0) => (n - i0) / (blocks - b);

    /// <summary>x rounded to bf16, as 32-bit column pairs ordered [block][step][row of the block] (an odd last column
    /// pairs with zero): a kernel call reads its block's pairs as one sequential stream. Many rows are packed by tiles of
    /// steps on the worker pool (<see cref="PackJob"/>).</summary>
    private static void PackActivations(Compute compute, ReadOnlySpan<float> x, int n, int cols, uint* xp)
    {
        if (n == 1)
        {
            Bf16.FromFloats(x[..cols], new Span<ushort>(xp, cols));
            if (cols % 2 != 0) ((ushort*)xp)[cols] = 0;
            return;
        }
        fixed (float* px = x)
        {
            var job = t_pack ??= new PackJob();
            job.X = px; job.Xp = xp; job.N = n; job.Cols = cols;
            int items = Blocks(n) * job.Tiles;
            // a pool region costs a few µs: worth it from a few tens of thousands of elements (a 32-row pass packs 64k–256k)
            if ((long)n * cols >= PoolPackElements) compute.Pool.For(items, job, 1, items);
            else job.Execute(0, items);
            job.X = null; job.Xp = null;
        }
    }

    /// <summary>Elements from which packing runs on the worker pool (tuning).</summary>
    internal static int PoolPackElements = 1 << 15;

    /// <summary>
    /// Packs tiles of <see cref="TileSteps"/> steps of one row block: each row's stretch is rounded into a small buffer,
    /// then its pairs go to their places in the block, so a tile's writes stay within a few KB of L1 (a whole row's
    /// pairs at a stride of the block's width touched a new cache line per pair across hundreds of KB). Every pair is
    /// the same bits whichever thread or tile computes it.
    /// </summary>
    private sealed class PackJob : IRangeJob
    {
        public const int TileSteps = 128;
        public float* X;
        public uint* Xp;
        public int N, Cols;
        [ThreadStatic] private static ushort[]? t_tile;

        private int Steps => Bf16Panels.Steps(Cols);
        public int Tiles => (Steps + TileSteps - 1) / TileSteps;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int start, int end)
        {
            int n = N, cols = Cols, steps = Steps, tiles = Tiles, blocks = Blocks(n);
            var tile = t_tile ??= GC.AllocateUninitializedArray<ushort>(2 * TileSteps, pinned: true);
            fixed (ushort* row = tile)
                for (int item = start; item < end; item++)
                {
                    int b = item / tiles, s0 = item % tiles * TileSteps, s1 = Math.Min(steps, s0 + TileSteps);
                    int i0 = 0;
                    for (int k = 0; k < b; k++) i0 += BlockRows(n, blocks, k, i0);
                    int m = BlockRows(n, blocks, b, i0), width = Math.Min(cols, 2 * s1) - 2 * s0;
                    uint* block = Xp + (long)i0 * steps;
                    for (int j = 0; j < m; j++)
                    {
                        Bf16.FromFloats(new ReadOnlySpan<float>(X + (long)(i0 + j) * cols + 2 * s0, width), new Span<ushort>(row, width));
                        if (width % 2 != 0) row[width] = 0;
                        uint* pairs = (uint*)row - s0;
                        for (int s = s0; s < s1; s++) block[(long)s * m + j] = pairs[s];
                    }
                }
        }
    }

    private sealed class Job : IRangeJob
    {
        public Bf16PanelKernels Kernels = null!;
        public readonly Output[] Outputs = new Output[MaxOutputs];
        public readonly int[] First = new int[MaxOutputs + 1]; // first pool index of each output's panels, then the total
        public int Count;
        public uint* X;
        public int N;
        [ThreadStatic] private static float[]? t_edge;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int start, int end)
        {
            int cols = Outputs[0].W.Cols, steps = Bf16Panels.Steps(cols), n = N;
            var edge = t_edge;
            if (edge == null || edge.Length < n * Bf16Panels.PanelRows) t_edge = edge = GC.AllocateUninitializedArray<float>(Math.Max(n * Bf16Panels.PanelRows, 1024), pinned: true);
            DotArgs args = default;
            int blocks = Blocks(n);
            // K chunks small enough that a chunk of the panel, the next one (prefetched) and every block's activations
            // for it stay in L2
            int chunk = Math.Clamp(ChunkBudget / (4 * Bf16Panels.PanelRows + 4 * n), 64, MaxChunkSteps);
            fixed (float* scratch = edge)
                for (int index = start; index < end; index++)
                {
                    int o = 0;
                    while (index >= First[o + 1]) o++;
                    var W = Outputs[o].W;
                    float* Y = Outputs[o].Y, Bias = Outputs[o].Bias;
                    int rows = W.Rows, p = index - First[o];
                    int r0 = p * Bf16Panels.PanelRows, h = Bf16Panels.Height(rows, p), vectors = h / 16;
                    // a last panel padded past the matrix's rows computes into scratch, then copies the real rows
                    bool direct = r0 + h <= rows;
                    float* yp = direct ? Y + r0 : scratch;
                    args.YStride = direct ? 4L * rows : 4L * h;
                    byte* panel = (byte*)W.Address + Bf16Panels.Offset(cols, p);
                    long stepBytes = 4L * h;
                    if (blocks == 1)
                    {
                        // one pass: the panel streams once, prefetched a little ahead in the same stream
                        args.W = (nint)panel; args.X = (nint)X; args.XStride = 4L * n; args.Y = (nint)yp; args.K = steps; args.Rows = 0;
                        args.Prefetch = PrefetchAhead > 0 ? (nint)(panel + PrefetchAhead) : 0;
                        Kernels.Kernel(vectors, n, vectors)(&args);
                    }
                    else
                    {
                        // each block prefetches its share of the next chunk (which follows this one in memory, also across
                        // panels), so the whole next chunk is requested at an even pace over all the blocks' passes
                        int lines = (vectors + blocks - 1) / blocks;
                        for (int k0 = 0; k0 < steps; k0 += chunk)
                        {
                            args.K = Math.Min(chunk, steps - k0);
                            args.Rows = k0 > 0 ? 1 : 0;
                            byte* at = panel + k0 * stepBytes;
                            long chunkBytes = args.K * stepBytes, share = args.K * lines * 64L;
                            for (int b = 0, i0 = 0; b < blocks; b++)
                            {
                                int m = BlockRows(n, blocks, b, i0);
                                args.W = (nint)at;
                                args.X = (nint)(X + (long)i0 * steps + (long)k0 * m);
                                args.XStride = 4L * m;
                                args.Y = (nint)((byte*)yp + i0 * args.YStride);
                                // the panel after this pool chunk's last is another chunk's, likely another thread's (another L2)
                                args.Prefetch = PrefetchNextChunk && b * share < chunkBytes && (index + 1 < end || k0 + chunk < steps)
                                    ? (nint)(at + chunkBytes + b * share) : 0;
                                Kernels.Kernel(vectors, m, lines)(&args);
                                i0 += m;
                            }
                        }
                    }
                    int real = Math.Min(h, rows - r0);
                    if (!direct)
                        for (int i = 0; i < n; i++)
                            new Span<float>(scratch + i * h, real).CopyTo(new Span<float>(Y + (long)i * rows + r0, real));
                    if (Bias != null)
                        for (int i = 0; i < n; i++)
                        {
                            float* yi = Y + (long)i * rows + r0;
                            for (int r = 0; r < real; r++) yi[r] += Bias[r0 + r];
                        }
                }
        }
    }
}
