using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FrSpec.Numerics.CodeGen;
using FrSpec.Numerics.Quantized;

namespace FrSpec.Numerics;

/// <summary>
/// y = x·Wᵀ (+ bias) for Q8_0 weights in the fast precision: each activation row is quantized per block of 32 like the
/// weights (dx = max|x| / 127, fp32), and each (weight row, activation row) pair computes
/// <c>acc = fma((float)Σ_block qw·qx, dw·dx, acc)</c> block after block. The block sums are exact integers on every
/// path (generated vpdpbusd, AVX-VNNI, vpmaddubsw/vpmaddwd on AVX-512BW or AVX2, portable), so all paths return the
/// same bits and a row's result never depends on the batch around it.
/// </summary>
internal static unsafe class Int8Products
{
    [ThreadStatic] private static Job? t_job;
    [ThreadStatic] private static byte[]? t_q;
    [ThreadStatic] private static float[]? t_dx;

    public static void Multiply(Compute compute, ReadOnlySpan<float> x, int n, WeightMatrix w, Span<float> y, ReadOnlySpan<float> bias)
    {
        int cols = w.Cols, blocks = cols / Q8_0.BlockSize;
        // per activation row: q (signed) then q + 128 (unsigned, for vpdpbusd) then |q| (for vpmaddubsw), each K bytes
        int rowBytes = 3 * cols;
        if (t_q == null || t_q.Length < n * rowBytes) t_q = GC.AllocateUninitializedArray<byte>(Math.Max(n * rowBytes, 4096), pinned: true);
        if (t_dx == null || t_dx.Length < n * blocks) t_dx = GC.AllocateUninitializedArray<float>(Math.Max(n * blocks, 256), pinned: true);
        fixed (byte* q = t_q)
        fixed (float* dx = t_dx, px = x, py = y, pb = bias)
        {
            for (int i = 0; i < n; i++) QuantizeRow(px + (long)i * cols, cols, q + (long)i * rowBytes, dx + (long)i * blocks);
            var job = t_job ??= new Job();
            job.W = w; job.Q = q; job.QStride = rowBytes; job.Dx = dx; job.Y = py; job.Bias = bias.IsEmpty ? null : pb; job.N = n;
            job.Isa = compute.Isa; job.Kernels = compute.Generated?.Int8;
            int tileRows = n == 1 ? 8 : 4;
            compute.Pool.For((w.Rows + tileRows - 1) / tileRows, job, Math.Max(1, 32 / n));
            job.W = null!; job.Kernels = null;
        }
    }

    /// <summary>Per block of 32: dx = max|x| / 127 and q = round(x / dx), halves away from zero (as ggml quantizes).</summary>
    private static void QuantizeRow(float* x, int cols, byte* dst, float* dx)
    {
        sbyte* q = (sbyte*)dst;
        byte* u = dst + cols, a = dst + 2 * cols;
        for (int b = 0; b < cols / Q8_0.BlockSize; b++)
        {
            float* xb = x + b * Q8_0.BlockSize;
            float amax = 0;
            for (int j = 0; j < Q8_0.BlockSize; j++) amax = MathF.Max(amax, MathF.Abs(xb[j]));
            float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
            dx[b] = d;
            for (int j = 0; j < Q8_0.BlockSize; j++)
            {
                int k = b * Q8_0.BlockSize + j;
                sbyte v = (sbyte)MathF.Round(xb[j] * id, MidpointRounding.AwayFromZero);
                q[k] = v; u[k] = (byte)(v + 128); a[k] = (byte)Math.Abs(v);
            }
        }
    }

    private sealed class Job : IRangeJob
    {
        public WeightMatrix W = null!;
        public byte* Q;
        public int QStride, N;
        public float* Dx, Y, Bias;
        public Isa Isa;
        public Int8DotKernels? Kernels;

        public void Execute(int start, int end)
        {
            int rows = W.Rows, cols = W.Cols, blocks = cols / Q8_0.BlockSize, tileRows = N == 1 ? 8 : 4;
            long rb = W.RowBytes;
            float* d = stackalloc float[8];
            for (int t = start; t < end; t++)
            {
                int r0 = t * tileRows, count = Math.Min(tileRows, rows - r0);
                if (Kernels != null) Generated(r0, count, rb, blocks, d);
                else
                    for (int i = 0; i < N; i++)
                        for (int r = r0; r < r0 + count; r++)
                            Y[(long)i * rows + r] = Pair((byte*)W.Data + r * rb, i, cols);
                if (Bias != null)
                    for (int i = 0; i < N; i++)
                        for (int r = r0; r < r0 + count; r++) Y[(long)i * rows + r] += Bias[r];
            }
        }

        /// <summary>A tile through the generated kernel: 8 rows × 1 activation, or 4 rows × 2 activations. A short last
        /// tile starts earlier so it stays inside the matrix (recomputing a row gives the same bits); a matrix smaller
        /// than a tile repeats its row (stride 0) and keeps the first lane.</summary>
        private void Generated(int r0, int count, long rb, int blocks, float* d)
        {
            int rows = W.Rows, tileRows = N == 1 ? 8 : 4, acts = N == 1 ? 1 : 2;
            var kernel = Kernels!.Tile(acts);
            DotArgs args = default;
            args.K = W.Cols;
            for (int i0 = 0; i0 < N; i0 += acts)
            {
                bool pair = i0 + 1 < N;
                args.X = (nint)(Q + (long)i0 * QStride + W.Cols); // the q + 128 bytes
                args.XStride = pair ? QStride : 0;
                args.XScales = (nint)(Dx + (long)i0 * blocks);
                args.Rows = pair ? blocks * 4L : 0;
                int acts0 = pair ? acts : 1;
                if (rows >= tileRows)
                {
                    int first = Math.Min(r0, rows - tileRows), skip = r0 - first;
                    args.W = W.Data + (nint)(first * rb); args.WStride = rb; args.Y = (nint)d;
                    kernel(&args);
                    for (int a = 0; a < acts0; a++)
                        for (int k = 0; k < count; k++) Y[(long)(i0 + a) * rows + r0 + k] = d[a * tileRows + skip + k];
                }
                else
                    for (int k = 0; k < count; k++)
                    {
                        args.W = W.Data + (nint)((r0 + k) * rb); args.WStride = 0; args.Y = (nint)d;
                        kernel(&args);
                        for (int a = 0; a < acts0; a++) Y[(long)(i0 + a) * rows + r0 + k] = d[a * tileRows];
                    }
            }
        }

        /// <summary>One (weight row, activation row) pair on the managed kernels.</summary>
        private float Pair(byte* row, int i, int cols)
        {
            byte* q = Q + (long)i * QStride;
            float* dx = Dx + (long)i * (cols / Q8_0.BlockSize);
            float acc = 0;
            for (int b = 0; b < cols / Q8_0.BlockSize; b++)
            {
                byte* block = row + b * Q8_0.BlockBytes;
                sbyte* w = (sbyte*)(block + 2);
                int o = b * Q8_0.BlockSize;
                int sum = Isa switch
                {
                    Isa.AvxVnni => BlockSumVnni(w, q + 2 * cols + o, (sbyte*)q + o),
                    Isa.Avx2 or Isa.Avx512 => BlockSumMaddubs(w, q + 2 * cols + o, (sbyte*)q + o),
                    _ => BlockSumScalar(w, (sbyte*)q + o),
                };
                acc = MathF.FusedMultiplyAdd(sum, (float)*(Half*)block * dx[b], acc);
            }
            return acc;
        }
    }

    private static int BlockSumScalar(sbyte* w, sbyte* q)
    {
        int s = 0;
        for (int j = 0; j < Q8_0.BlockSize; j++) s += w[j] * q[j];
        return s;
    }

    /// <summary>vpmaddubsw needs an unsigned left operand and saturates at 16 bits: |q| against w with q's sign
    /// (|q| ≤ 127, so two products stay below 2^15), then vpmaddwd widens pairs to 32 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BlockSumMaddubs(sbyte* w, byte* absQ, sbyte* q)
    {
        var signed = Avx2.Sign(Avx.LoadVector256(w), Avx.LoadVector256(q));
        var pairs = Avx2.MultiplyAddAdjacent(Avx.LoadVector256(absQ), signed);
        return Vector256.Sum(Avx2.MultiplyAddAdjacent(pairs, Vector256<short>.One));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BlockSumVnni(sbyte* w, byte* absQ, sbyte* q)
    {
        var signed = Avx2.Sign(Avx.LoadVector256(w), Avx.LoadVector256(q));
        return Vector256.Sum(AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Avx.LoadVector256(absQ), signed));
    }
}
