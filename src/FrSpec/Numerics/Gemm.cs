using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FrSpec.Numerics;

/// <summary>
/// Dense f32 matrix products for training (row-major, contiguous rows), multithreaded through <see cref="WorkerPool"/>:
/// <list type="bullet">
/// <item><see cref="MultiplyNN"/>: C[m,n] (+)= A[m,k]·B[k,n] — backward through a linear layer (dx = dy·W).</item>
/// <item><see cref="MultiplyTN"/>: C[m,n] (+)= A[k,m]ᵀ·B[k,n] — weight gradients (dW += dyᵀ·x).</item>
/// <item><see cref="MultiplyNT"/>: C[m,n] (+)= A[m,k]·B[n,k]ᵀ — forward of a linear layer (y = x·Wᵀ), via a transposed copy of B.</item>
/// </list>
/// All three run one register-blocked 4×16 micro-kernel; A is read through (row, column) strides, so Aᵀ costs nothing.
/// Each element of C is summed by one thread in a fixed order: results do not depend on the thread count.
/// </summary>
public static unsafe class Gemm
{
    private const int MR = 4, NR = 16;      // micro-kernel: 4 rows × 16 columns (8 Vector256 accumulators)
    private const int MC = 64, NC = 256, KC = 256; // cache blocks: an A block of 64×256 and a B panel of 256×256 stay in L2

    [ThreadStatic] private static Job? t_job;
    [ThreadStatic] private static float[]? t_transposed;

    /// <summary>C[m,n] = A[m,k]·B[k,n] (+ C when <paramref name="accumulate"/>).</summary>
    public static void MultiplyNN(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n, bool accumulate = false)
    {
        Check(a.Length, (long)m * k, "A"); Check(b.Length, (long)k * n, "B"); Check(c.Length, (long)m * n, "C");
        fixed (float* pa = a, pb = b, pc = c) Run(pa, k, 1, pb, pc, m, k, n, accumulate);
    }

    /// <summary>C[m,n] = A[k,m]ᵀ·B[k,n] (+ C when <paramref name="accumulate"/>): A is stored [k, m].</summary>
    public static void MultiplyTN(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n, bool accumulate = false)
    {
        Check(a.Length, (long)m * k, "A"); Check(b.Length, (long)k * n, "B"); Check(c.Length, (long)m * n, "C");
        fixed (float* pa = a, pb = b, pc = c) Run(pa, 1, m, pb, pc, m, k, n, accumulate);
    }

    /// <summary>C[m,n] = A[m,k]·B[n,k]ᵀ (+ C when <paramref name="accumulate"/>): B is stored [n, k] like a Linear weight.</summary>
    public static void MultiplyNT(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n, bool accumulate = false)
    {
        Check(a.Length, (long)m * k, "A"); Check(b.Length, (long)k * n, "B"); Check(c.Length, (long)m * n, "C");
        long need = (long)k * n;
        var bt = t_transposed;
        if (bt == null || bt.Length < need) t_transposed = bt = GC.AllocateUninitializedArray<float>(checked((int)need));
        Transpose(b, n, k, bt);
        MultiplyNN(a, bt.AsSpan(0, (int)need), c, m, k, n, accumulate);
    }

    /// <summary>dst[cols, rows] = src[rows, cols]ᵀ, in cache-sized blocks.</summary>
    public static void Transpose(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        Check(src.Length, (long)rows * cols, "src"); Check(dst.Length, (long)rows * cols, "dst");
        const int B = 32;
        fixed (float* s = src, d = dst)
        {
            for (int r0 = 0; r0 < rows; r0 += B)
            {
                int r1 = Math.Min(rows, r0 + B);
                for (int c0 = 0; c0 < cols; c0 += B)
                {
                    int c1 = Math.Min(cols, c0 + B);
                    for (int r = r0; r < r1; r++)
                    {
                        float* sr = s + (long)r * cols;
                        for (int c = c0; c < c1; c++) d[(long)c * rows + r] = sr[c];
                    }
                }
            }
        }
    }

    private static void Check(int have, long need, string what)
    {
        if (have < need) throw new ArgumentException($"{what} has {have} floats, needs {need}");
    }

    private static void Run(float* a, int aRowStride, int aColStride, float* b, float* c, int m, int k, int n, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        if (k == 0) { if (!accumulate) new Span<float>(c, m * n).Clear(); return; }
        var job = t_job ??= new Job();
        job.A = a; job.RsA = aRowStride; job.CsA = aColStride; job.B = b; job.C = c;
        job.M = m; job.K = k; job.N = n; job.Accumulate = accumulate;
        job.RowTiles = (m + MC - 1) / MC;
        int colTiles = (n + NC - 1) / NC;
        WorkerPool.Shared.For(job.RowTiles * colTiles, job, 1);
    }

    private sealed class Job : IRangeJob
    {
        public float* A, B, C;
        public int RsA, CsA, M, K, N, RowTiles;
        public bool Accumulate;

        public void Execute(int start, int end)
        {
            for (int tile = start; tile < end; tile++)
            {
                int i0 = tile % RowTiles * MC, j0 = tile / RowTiles * NC;
                int i1 = Math.Min(M, i0 + MC), j1 = Math.Min(N, j0 + NC);
                for (int p0 = 0; p0 < K; p0 += KC)
                {
                    int kc = Math.Min(KC, K - p0);
                    bool load = Accumulate || p0 > 0;
                    for (int i = i0; i < i1; i += MR)
                    {
                        int rows = Math.Min(MR, i1 - i);
                        float* ap = A + (long)i * RsA + (long)p0 * CsA;
                        for (int j = j0; j < j1; j += NR)
                        {
                            int cols = Math.Min(NR, j1 - j);
                            float* bp = B + (long)p0 * N + j;
                            float* cp = C + (long)i * N + j;
                            if (rows == MR && cols == NR && Vector256.IsHardwareAccelerated)
                                Kernel4x16(ap, RsA, CsA, bp, N, cp, N, kc, load);
                            else
                                KernelEdge(ap, RsA, CsA, bp, N, cp, N, kc, rows, cols, load);
                        }
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Kernel4x16(float* a, int rsA, int csA, float* b, int ldb, float* c, int ldc, int kc, bool load)
    {
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31;
        if (load)
        {
            c00 = Vector256.Load(c); c01 = Vector256.Load(c + 8);
            c10 = Vector256.Load(c + ldc); c11 = Vector256.Load(c + ldc + 8);
            c20 = Vector256.Load(c + 2 * ldc); c21 = Vector256.Load(c + 2 * ldc + 8);
            c30 = Vector256.Load(c + 3 * ldc); c31 = Vector256.Load(c + 3 * ldc + 8);
        }
        else c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector256<float>.Zero;
        float* a0 = a, a1 = a + rsA, a2 = a + 2 * rsA, a3 = a + 3 * rsA;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8);
            b += ldb;
            long o = (long)p * csA;
            var x = Vector256.Create(a0[o]);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a1[o]);
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a2[o]);
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a3[o]);
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
        }
        c00.Store(c); c01.Store(c + 8);
        c10.Store(c + ldc); c11.Store(c + ldc + 8);
        c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + 8);
        c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + 8);
    }

    /// <summary>Partial tiles at the matrix edges: plain scalar code, same summation order per element.</summary>
    private static void KernelEdge(float* a, int rsA, int csA, float* b, int ldb, float* c, int ldc, int kc, int rows, int cols, bool load)
    {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++)
            {
                float s = load ? c[(long)r * ldc + j] : 0f;
                for (int p = 0; p < kc; p++) s = MathF.FusedMultiplyAdd(a[(long)r * rsA + (long)p * csA], b[(long)p * ldb + j], s);
                c[(long)r * ldc + j] = s;
            }
    }
}
