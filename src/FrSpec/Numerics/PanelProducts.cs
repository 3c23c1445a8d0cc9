using FrSpec.Numerics.CodeGen;

namespace FrSpec.Numerics;

/// <summary>
/// Drives the generated panel kernels for <see cref="MatMul"/> (fast precision, bf16 weights in
/// <see cref="WeightLayout.Bf16Panels"/>): rounds the activations to bf16 and interleaves them by column pair once per
/// call, then splits the panels over the worker pool. Each thread walks a contiguous run of panels, so it reads its
/// share of the weights as one sequential stream.
///
/// Up to 6 activation rows go through one kernel call per panel over the whole K. More rows are split into blocks of at
/// most 6 (of even size: 8 = 4 + 4, since a narrow last block runs far below peak), and K into chunks of
/// <see cref="ChunkSteps"/> column pairs: every block passes over a chunk while it is in L1, so the weights come from
/// memory once whatever the number of rows, and partial sums wait in Y (exact fp32 stores).
/// </summary>
internal static unsafe class PanelProducts
{
    /// <summary>Column pairs per K chunk when several blocks share a panel (tuning).</summary>
    internal static int ChunkSteps = 1024;

    /// <summary>Bytes ahead that a single-block call prefetches (0: leave it to the hardware) (tuning).</summary>
    internal static long PrefetchBytes = 0;

    /// <summary>Multi-block calls prefetch the next chunk: 0 none, 1 in the first block, 2 in every block, 3 in the last (tuning).</summary>
    internal static int ChunkPrefetch = 2;

    [ThreadStatic] private static Job? t_job;
    [ThreadStatic] private static ushort[]? t_x, t_row;

    public static void Multiply(Compute compute, Bf16PanelKernels kernels, ReadOnlySpan<float> x, int n, WeightMatrix w, Span<float> y, ReadOnlySpan<float> bias)
    {
        int cols = w.Cols, steps = Bf16Panels.Steps(cols);
        int need = steps * 2 * n + 32;
        if (t_x == null || t_x.Length < need) t_x = GC.AllocateUninitializedArray<ushort>(Math.Max(need, 4096), pinned: true);
        fixed (ushort* buffer = t_x)
        fixed (float* py = y, pb = bias)
        {
            // packed activations start on a cache line
            uint* xp = (uint*)(buffer + (int)((64 - ((nint)buffer & 63)) & 63) / 2);
            PackActivations(x, n, cols, xp);
            var job = t_job ??= new Job();
            job.Kernels = kernels; job.W = w; job.X = xp; job.Y = py; job.Bias = bias.IsEmpty ? null : pb; job.N = n;
            compute.Pool.For(Bf16Panels.Count(w.Rows), job, 1);
            job.Kernels = null!; job.W = null!;
        }
    }

    /// <summary>x rounded to bf16, as 32-bit column pairs ordered [step][row] (an odd last column pairs with zero).</summary>
    private static void PackActivations(ReadOnlySpan<float> x, int n, int cols, uint* xp)
    {
        int steps = Bf16Panels.Steps(cols);
        if (n == 1)
        {
            Bf16.FromFloats(x[..cols], new Span<ushort>(xp, cols));
            if (cols % 2 != 0) ((ushort*)xp)[cols] = 0;
            return;
        }
        if (t_row == null || t_row.Length < steps * 2) t_row = GC.AllocateUninitializedArray<ushort>(Math.Max(steps * 2, 1024), pinned: true);
        fixed (ushort* row = t_row)
            for (int i = 0; i < n; i++)
            {
                Bf16.FromFloats(x.Slice(i * cols, cols), new Span<ushort>(row, cols));
                if (cols % 2 != 0) row[cols] = 0;
                uint* pairs = (uint*)row;
                for (int s = 0; s < steps; s++) xp[(long)s * n + i] = pairs[s];
            }
    }

    private sealed class Job : IRangeJob
    {
        public Bf16PanelKernels Kernels = null!;
        public WeightMatrix W = null!;
        public uint* X;
        public float* Y, Bias;
        public int N;
        [ThreadStatic] private static float[]? t_edge;

        public void Execute(int start, int end)
        {
            int rows = W.Rows, cols = W.Cols, steps = Bf16Panels.Steps(cols), n = N;
            var edge = t_edge;
            if (edge == null || edge.Length < n * Bf16Panels.PanelRows) t_edge = edge = GC.AllocateUninitializedArray<float>(Math.Max(n * Bf16Panels.PanelRows, 1024), pinned: true);
            DotArgs args = default;
            args.XStride = 4L * n;
            fixed (float* scratch = edge)
                for (int p = start; p < end; p++)
                {
                    int r0 = p * Bf16Panels.PanelRows, h = Bf16Panels.Height(rows, p), vectors = h / 16;
                    // a last panel padded past the matrix's rows computes into scratch, then copies the real rows
                    bool direct = r0 + h <= rows;
                    float* yp = direct ? Y + r0 : scratch;
                    args.YStride = direct ? 4L * rows : 4L * h;
                    byte* panel = (byte*)W.Address + Bf16Panels.Offset(cols, p);
                    long stepBytes = 4L * h;
                    if (n <= Bf16PanelKernels.MaxActs)
                    {
                        args.W = (nint)panel; args.X = (nint)X; args.Y = (nint)yp; args.K = steps; args.Rows = 0; args.Prefetch = PrefetchBytes;
                        Kernels.Kernel(vectors, n)(&args);
                    }
                    else
                    {
                        int blocks = (n + Bf16PanelKernels.MaxActs - 1) / Bf16PanelKernels.MaxActs;
                        for (int k0 = 0; k0 < steps; k0 += ChunkSteps)
                        {
                            args.K = Math.Min(ChunkSteps, steps - k0);
                            args.Rows = k0 > 0 ? 1 : 0;
                            for (int b = 0, i0 = 0; b < blocks; b++)
                            {
                                int m = (n - i0) / (blocks - b);
                                args.W = (nint)(panel + k0 * stepBytes);
                                args.X = (nint)(X + (long)k0 * n + i0);
                                args.Y = (nint)((byte*)yp + i0 * args.YStride);
                                bool prefetch = ChunkPrefetch switch { 1 => b == 0, 2 => true, 3 => b == blocks - 1, _ => false };
                                args.Prefetch = prefetch ? args.K * stepBytes : 0;
                                Kernels.Kernel(vectors, m)(&args);
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
