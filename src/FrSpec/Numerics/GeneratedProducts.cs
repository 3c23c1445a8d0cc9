using FrSpec.Numerics.CodeGen;

namespace FrSpec.Numerics;

/// <summary>
/// Drives the generated kernels for <see cref="MatMul"/>: converts the activations once per call, then splits the weight
/// rows over the worker pool. Decoding (one activation row) streams each thread's rows one after another through the
/// GEMV kernel, a single memory stream the hardware prefetchers follow; batches walk tiles of 4 weight rows, each
/// against every block of up to 6 activation rows, so a tile is read from memory once and reused from L1.
/// </summary>
internal static unsafe class GeneratedProducts
{
    private const int TileRows = Bf16DotKernels.MaxR, TileActs = Bf16DotKernels.MaxM;

    [ThreadStatic] private static Bf16Job? t_bf16;
    [ThreadStatic] private static ushort[]? t_xb;

    /// <summary>Elements between converted activation rows: a whole number of cache lines plus one, so that rows whose
    /// length is a multiple of 4 KiB do not all fall into the same L1 set (8 ways) and evict each other.</summary>
    private static int ActivationStride(int cols) => (cols + 31) / 32 * 32 + 32;

    /// <summary>y = x·Wᵀ (+ bias) with bf16 weights and activations rounded to bf16 (the fast precision).</summary>
    public static void MultiplyBf16(Compute compute, Bf16DotKernels kernels, ReadOnlySpan<float> x, int n, WeightMatrix w, Span<float> y, ReadOnlySpan<float> bias)
    {
        int cols = w.Cols, stride = ActivationStride(cols);
        if (t_xb == null || t_xb.Length < n * stride + 32) t_xb = GC.AllocateUninitializedArray<ushort>(Math.Max(n * stride + 32, 4096), pinned: true);
        fixed (ushort* buffer = t_xb)
        fixed (float* py = y, pb = bias)
        {
            // rows start on cache lines: a zmm load that straddles two lines costs two
            int skip = (int)((64 - ((nint)buffer & 63)) & 63) / 2;
            ushort* xb = buffer + skip;
            for (int i = 0; i < n; i++) Bf16.FromFloats(x.Slice(i * cols, cols), new Span<ushort>(xb + (long)i * stride, cols));
            var job = t_bf16 ??= new Bf16Job();
            job.Kernels = kernels; job.W = w; job.X = xb; job.XStride = stride; job.Y = py; job.Bias = bias.IsEmpty ? null : pb; job.N = n;
            if (n == 1) compute.Pool.For(w.Rows, job, 64);
            else compute.Pool.For((w.Rows + TileRows - 1) / TileRows, job, Math.Max(1, 16 / n));
            job.Kernels = null!; job.W = null!;
        }
    }

    private sealed class Bf16Job : IRangeJob
    {
        public Bf16DotKernels Kernels = null!;
        public WeightMatrix W = null!;
        public ushort* X;
        public float* Y, Bias;
        public int N, XStride;

        public void Execute(int start, int end)
        {
            var w = W;
            int rows = w.Rows, cols = w.Cols;
            long rb = w.RowBytes;
            DotArgs args = default;
            args.WStride = rb; args.XStride = 2L * XStride; args.YStride = 4L * rows; args.K = cols;
            if (N == 1)
            {
                // start..end are weight rows
                args.W = w.Data + (nint)(start * rb); args.X = (nint)X; args.Y = (nint)(Y + start); args.Rows = end - start;
                Kernels.Gemv(&args);
                AddBias(start, end);
                return;
            }
            for (int t = start; t < end; t++)
            {
                int r0 = t * TileRows, count = Math.Min(TileRows, rows - r0);
                args.W = w.Data + (nint)(r0 * rb);
                // the first pass over a tile fetches the next tile's rows from memory while it computes
                args.Prefetch = t + 1 < end ? TileRows * rb : 0;
                int blocks = (N + TileActs - 1) / TileActs;
                for (int b = 0, i0 = 0; b < blocks; b++)
                {
                    // blocks of even size (8 = 4 + 4, not 6 + 2): a narrow last block runs far below peak
                    int m = (N - i0) / (blocks - b);
                    args.X = (nint)(X + (long)i0 * XStride);
                    args.Y = (nint)(Y + (long)i0 * rows + r0);
                    Kernels.Tile(count, m)(&args);
                    args.Prefetch = 0;
                    i0 += m;
                }
                AddBias(r0, r0 + count);
            }
        }

        private void AddBias(int r0, int r1)
        {
            if (Bias == null) return;
            for (int i = 0; i < N; i++)
            {
                float* yi = Y + (long)i * W.Rows;
                for (int r = r0; r < r1; r++) yi[r] += Bias[r];
            }
        }
    }
}
