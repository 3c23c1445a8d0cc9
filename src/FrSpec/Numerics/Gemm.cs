using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FrSpec.Numerics;

/// <summary>
/// Dense f32 matrix products for training (row-major, contiguous rows), multithreaded through <see cref="WorkerPool"/>:
/// <list type="bullet">
/// <item><see cref="MultiplyNN"/>: C[m,n] (+)= A[m,k]·B[k,n] — backward through a linear layer (dx = dy·W).</item>
/// <item><see cref="MultiplyTN"/>: C[m,n] (+)= A[k,m]ᵀ·B[k,n] — weight gradients (dW += dyᵀ·x).</item>
/// <item><see cref="MultiplyNT"/>: C[m,n] (+)= A[m,k]·B[n,k]ᵀ — forward of a linear layer (y = x·Wᵀ).</item>
/// </list>
/// All three run one packed, register-blocked 4×16 micro-kernel (the BLIS scheme); A and B are read through (row, column)
/// strides while packing, so transposed operands cost nothing extra.
/// Each element of C is summed by one thread in a fixed order: results do not depend on the thread count.
/// </summary>
public static unsafe class Gemm
{
    private const int MR = 4, NR = 16;      // micro-kernel: 4 rows × 16 columns (8 Vector256 accumulators)
    private const int MC = 64, NC = 256, KC = 256; // cache blocks: an A block of 64×256 and a B panel of 256×256 stay in L2

    [ThreadStatic] private static Job? t_job;

    /// <summary>C[m,n] = A[m,k]·B[k,n] (+ C when <paramref name="accumulate"/>).</summary>
    public static void MultiplyNN(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n, bool accumulate = false)
    {
        Check(a.Length, (long)m * k, "A"); Check(b.Length, (long)k * n, "B"); Check(c.Length, (long)m * n, "C");
        fixed (float* pa = a, pb = b, pc = c) Run(pa, k, 1, pb, n, 1, pc, m, k, n, accumulate);
    }

    /// <summary>C[m,n] = A[k,m]ᵀ·B[k,n] (+ C when <paramref name="accumulate"/>): A is stored [k, m].</summary>
    public static void MultiplyTN(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n, bool accumulate = false)
    {
        Check(a.Length, (long)m * k, "A"); Check(b.Length, (long)k * n, "B"); Check(c.Length, (long)m * n, "C");
        fixed (float* pa = a, pb = b, pc = c) Run(pa, 1, m, pb, n, 1, pc, m, k, n, accumulate);
    }

    /// <summary>C[m,n] = A[m,k]·B[n,k]ᵀ (+ C when <paramref name="accumulate"/>): B is stored [n, k] like a Linear weight.</summary>
    public static void MultiplyNT(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n, bool accumulate = false)
    {
        Check(a.Length, (long)m * k, "A"); Check(b.Length, (long)k * n, "B"); Check(c.Length, (long)m * n, "C");
        fixed (float* pa = a, pb = b, pc = c) Run(pa, k, 1, pb, 1, k, pc, m, k, n, accumulate);
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

    private static void Run(float* a, int rsA, int csA, float* b, int rsB, int csB, float* c, int m, int k, int n, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        if (k == 0) { if (!accumulate) new Span<float>(c, m * n).Clear(); return; }
        var job = t_job ??= new Job();
        job.A = a; job.RsA = rsA; job.CsA = csA; job.B = b; job.RsB = rsB; job.CsB = csB; job.C = c;
        job.M = m; job.K = k; job.N = n; job.Accumulate = accumulate;
        job.RowTiles = (m + MC - 1) / MC;
        int colTiles = (n + NC - 1) / NC;
        WorkerPool.Shared.For(job.RowTiles * colTiles, job, 1);
    }

    /// <summary>
    /// One (MC × NC) tile of C per index. For each KC slice, the A block and B panel are packed into contiguous
    /// micro-panels (4 rows interleaved, 16 columns interleaved, zero-padded at the edges) so the micro-kernel reads
    /// both sequentially whatever the strides of A and B.
    /// </summary>
    private sealed class Job : IRangeJob
    {
        public float* A, B, C;
        public int RsA, CsA, RsB, CsB, M, K, N, RowTiles;
        public bool Accumulate;
        [ThreadStatic] private static float[]? t_packA, t_packB, t_edge;

        public void Execute(int start, int end)
        {
            t_packA ??= GC.AllocateUninitializedArray<float>(MC * KC, pinned: true);
            t_packB ??= GC.AllocateUninitializedArray<float>(NC * KC, pinned: true);
            t_edge ??= GC.AllocateUninitializedArray<float>(MR * NR, pinned: true);
            fixed (float* pa = t_packA, pb = t_packB, edge = t_edge)
            {
                for (int tile = start; tile < end; tile++)
                {
                    int i0 = tile % RowTiles * MC, j0 = tile / RowTiles * NC;
                    int i1 = Math.Min(M, i0 + MC), j1 = Math.Min(N, j0 + NC);
                    for (int p0 = 0; p0 < K; p0 += KC)
                    {
                        int kc = Math.Min(KC, K - p0);
                        PackA(pa, i0, i1, p0, kc);
                        PackB(pb, j0, j1, p0, kc);
                        bool load = Accumulate || p0 > 0;
                        for (int i = i0, ib = 0; i < i1; i += MR, ib++)
                        {
                            int rows = Math.Min(MR, i1 - i);
                            for (int j = j0, jb = 0; j < j1; j += NR, jb++)
                            {
                                int cols = Math.Min(NR, j1 - j);
                                float* ap = pa + ib * MR * kc, bp = pb + jb * NR * kc;
                                float* cp = C + (long)i * N + j;
                                if (rows == MR && cols == NR) Kernel4x16(ap, bp, cp, N, kc, load);
                                else
                                {
                                    for (int r = 0; r < MR; r++)
                                        for (int q = 0; q < NR; q++)
                                            edge[r * NR + q] = load && r < rows && q < cols ? cp[(long)r * N + q] : 0f;
                                    Kernel4x16(ap, bp, edge, NR, kc, true);
                                    for (int r = 0; r < rows; r++)
                                        for (int q = 0; q < cols; q++) cp[(long)r * N + q] = edge[r * NR + q];
                                }
                            }
                        }
                    }
                }
            }
        }

        private void PackA(float* dst, int i0, int i1, int p0, int kc)
        {
            for (int i = i0; i < i1; i += MR)
            {
                int rows = Math.Min(MR, i1 - i);
                for (int r = 0; r < MR; r++)
                {
                    if (r >= rows) { for (int p = 0; p < kc; p++) dst[p * MR + r] = 0f; continue; }
                    float* src = A + (long)(i + r) * RsA + (long)p0 * CsA;
                    if (CsA == 1) for (int p = 0; p < kc; p++) dst[p * MR + r] = src[p];
                    else for (int p = 0; p < kc; p++) dst[p * MR + r] = src[(long)p * CsA];
                }
                dst += MR * kc;
            }
        }

        private void PackB(float* dst, int j0, int j1, int p0, int kc)
        {
            for (int j = j0; j < j1; j += NR)
            {
                int cols = Math.Min(NR, j1 - j);
                if (CsB == 1 && cols == NR)
                {
                    for (int p = 0; p < kc; p++)
                        Vector256.Store(Vector256.Load(B + (long)(p0 + p) * RsB + j), dst + p * NR);
                    for (int p = 0; p < kc; p++)
                        Vector256.Store(Vector256.Load(B + (long)(p0 + p) * RsB + j + 8), dst + p * NR + 8);
                }
                else
                {
                    for (int q = 0; q < NR; q++)
                    {
                        if (q >= cols) { for (int p = 0; p < kc; p++) dst[p * NR + q] = 0f; continue; }
                        float* src = B + (long)(j + q) * CsB + (long)p0 * RsB;
                        if (RsB == 1) for (int p = 0; p < kc; p++) dst[p * NR + q] = src[p];
                        else for (int p = 0; p < kc; p++) dst[p * NR + q] = src[(long)p * RsB];
                    }
                }
                dst += NR * kc;
            }
        }
    }

    /// <summary>C[4,16] (+)= Apack[kc,4]ᵀ-interleaved · Bpack[kc,16], 8 Vector256 accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Kernel4x16(float* a, float* b, float* c, int ldc, int kc, bool load)
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
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            a += MR; b += NR;
        }
        c00.Store(c); c01.Store(c + 8);
        c10.Store(c + ldc); c11.Store(c + ldc + 8);
        c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + 8);
        c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + 8);
    }
}
