using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FrSpec.Numerics;

/// <summary>Instruction-set paths of the kernels; each is tested against the scalar reference.</summary>
public enum Isa { Portable, Avx2, Avx512 }

/// <summary>
/// y = x·Wᵀ (+ bias) for n activation rows against a [rows, cols] weight matrix, multithreaded over weight rows.
/// Decode (n = 1) is bound by reading W once, so bf16 rows are widened in registers; verification (n = tree size)
/// converts a tile of 4 weight rows to f32 once and reuses it for all n rows with a 4×3 register-blocked kernel.
/// </summary>
public static unsafe class MatMul
{
    private const int Tile = 4; // weight rows per micro-kernel call

    /// <summary>The fastest path this CPU supports (FRSPEC_ISA=portable|avx2|avx512 overrides).</summary>
    public static Isa BestIsa { get; } = DetectIsa();

    private static Isa DetectIsa()
    {
        var env = Environment.GetEnvironmentVariable("FRSPEC_ISA")?.ToLowerInvariant();
        Isa best = Avx512F.IsSupported && Avx512BW.IsSupported ? Isa.Avx512 : Avx2.IsSupported && Fma.IsSupported ? Isa.Avx2 : Isa.Portable;
        return env switch
        {
            "portable" => Isa.Portable,
            "avx2" when best >= Isa.Avx2 => Isa.Avx2,
            "avx512" when best == Isa.Avx512 => Isa.Avx512,
            _ => best,
        };
    }

    public static bool IsSupported(Isa isa) => isa switch
    {
        Isa.Avx512 => Avx512F.IsSupported && Avx512BW.IsSupported,
        Isa.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        _ => true,
    };

    [ThreadStatic] private static Job? t_job;

    /// <summary>y[i, r] = Σc x[i, c]·W[r, c] + bias[r] for i &lt; n, r &lt; W.Rows. x is [n, W.Cols], y is [n, W.Rows].</summary>
    public static void Multiply(ReadOnlySpan<float> x, int n, WeightMatrix w, Span<float> y, ReadOnlySpan<float> bias = default) =>
        Multiply(x, n, w, y, bias, BestIsa);

    /// <summary>As <see cref="Multiply(ReadOnlySpan{float}, int, WeightMatrix, Span{float}, ReadOnlySpan{float})"/> on a chosen path (tests).</summary>
    public static void Multiply(ReadOnlySpan<float> x, int n, WeightMatrix w, Span<float> y, ReadOnlySpan<float> bias, Isa isa)
    {
        if (x.Length < n * w.Cols) throw new ArgumentException($"x has {x.Length} floats, need {n}x{w.Cols}");
        if (y.Length < n * w.Rows) throw new ArgumentException($"y has {y.Length} floats, need {n}x{w.Rows}");
        if (!bias.IsEmpty && bias.Length < w.Rows) throw new ArgumentException("bias shorter than rows");
        if (!IsSupported(isa)) throw new PlatformNotSupportedException($"{isa} kernels need CPU support");
        if (n == 0) return;
        fixed (float* px = x, py = y, pb = bias)
        {
            var job = t_job ??= new Job();
            job.X = px; job.Y = py; job.Bias = bias.IsEmpty ? null : pb; job.N = n; job.W = w; job.Isa = isa;
            int tiles = (w.Rows + Tile - 1) / Tile;
            // enough rows per chunk to amortise scheduling, fewer when n is large (compute-bound)
            int minTiles = Math.Max(1, 64 / Math.Max(1, n));
            WorkerPool.Shared.For(tiles, job, minTiles);
            job.W = null!;
        }
    }

    private sealed class Job : IRangeJob
    {
        public float* X, Y, Bias;
        public int N;
        public Isa Isa;
        public WeightMatrix W = null!;
        [ThreadStatic] private static float[]? t_scratch;

        public void Execute(int startTile, int endTile)
        {
            var w = W;
            int cols = w.Cols, rows = w.Rows, n = N;
            int rb = w.RowBytes;
            var scratch = t_scratch;
            if (scratch == null || scratch.Length < Tile * cols) t_scratch = scratch = GC.AllocateUninitializedArray<float>(Tile * cols, pinned: true);
            float* d = stackalloc float[12];
            fixed (float* s = scratch)
            {
                for (int t = startTile; t < endTile; t++)
                {
                    int r0 = t * Tile;
                    int count = Math.Min(Tile, rows - r0);
                    if (n == 1 && w.Type == DType.BF16 && count == Tile && Isa != Isa.Portable)
                    {
                        ushort* wp = (ushort*)((byte*)w.Data + (long)r0 * rb);
                        if (Isa == Isa.Avx512) GemvBf16Tile512(wp, cols, X, Y + r0);
                        else GemvBf16Tile256(wp, cols, X, Y + r0);
                    }
                    else
                    {
                        float* w0;
                        if (w.Type == DType.F32) w0 = (float*)w.Data + (long)r0 * cols;
                        else
                        {
                            for (int k = 0; k < count; k++)
                                Convert.ToFloat(w.Type, (byte*)w.Data + (long)(r0 + k) * rb, new Span<float>(s + k * cols, cols));
                            w0 = s;
                        }
                        float* w1 = count > 1 ? w0 + cols : w0;
                        float* w2 = count > 2 ? w0 + 2 * cols : w0;
                        float* w3 = count > 3 ? w0 + 3 * cols : w0;
                        int i = 0;
                        if (Isa != Isa.Portable)
                        {
                            // Every row goes through the same kernel (a last group of 1–2 rows repeats its first row,
                            // stride 0), so a row's result never depends on n: a tree pass reproduces single-token
                            // decoding bit for bit, which keeps greedy speculative output identical with bf16 weights.
                            while (i < n)
                            {
                                int rowsHere = n - i >= 3 ? 3 : 1;
                                float* xi = X + (long)i * cols;
                                int stride = rowsHere == 3 ? cols : 0;
                                if (Isa == Isa.Avx512) Dot4x3_512(xi, stride, w0, w1, w2, w3, cols, d);
                                else Dot4x3_256(xi, stride, w0, w1, w2, w3, cols, d);
                                for (int a = 0; a < rowsHere; a++)
                                {
                                    float* yi = Y + (long)(i + a) * rows + r0;
                                    for (int k = 0; k < count; k++) yi[k] = d[a * 4 + k];
                                }
                                i += rowsHere;
                            }
                        }
                        for (; i < n; i++)
                        {
                            float* xi = X + (long)i * cols;
                            float* yi = Y + (long)i * rows + r0;
                            Dot4(xi, w0, w1, w2, w3, cols, d);
                            for (int k = 0; k < count; k++) yi[k] = d[k];
                        }
                    }
                    if (Bias != null)
                        for (int i = 0; i < n; i++)
                            for (int k = 0; k < count; k++) Y[(long)i * rows + r0 + k] += Bias[r0 + k];
                }
            }
        }
    }

    /// <summary>Portable: four dot products of x with four f32 rows (Vector128 where accelerated, scalar tail).</summary>
    private static void Dot4(float* x, float* w0, float* w1, float* w2, float* w3, int cols, float* d)
    {
        int c = 0;
        float d0 = 0, d1 = 0, d2 = 0, d3 = 0;
        if (Vector128.IsHardwareAccelerated && cols >= 4)
        {
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; c + 4 <= cols; c += 4)
            {
                var xv = Vector128.Load(x + c);
                a0 += xv * Vector128.Load(w0 + c);
                a1 += xv * Vector128.Load(w1 + c);
                a2 += xv * Vector128.Load(w2 + c);
                a3 += xv * Vector128.Load(w3 + c);
            }
            d0 = Vector128.Sum(a0); d1 = Vector128.Sum(a1); d2 = Vector128.Sum(a2); d3 = Vector128.Sum(a3);
        }
        for (; c < cols; c++)
        {
            float xv = x[c];
            d0 += xv * w0[c]; d1 += xv * w1[c]; d2 += xv * w2[c]; d3 += xv * w3[c];
        }
        d[0] = d0; d[1] = d1; d[2] = d2; d[3] = d3;
    }

    /// <summary>AVX2: 4 weight rows × 3 activation rows, 12 accumulators; 7 loads per 12 FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4x3_256(float* x, int xStride, float* w0, float* w1, float* w2, float* w3, int cols, float* d)
    {
        float* x0 = x, x1 = x + xStride, x2 = x + 2 * xStride;
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
        int c = 0;
        for (; c + 8 <= cols; c += 8)
        {
            var v0 = Avx.LoadVector256(w0 + c); var v1 = Avx.LoadVector256(w1 + c);
            var v2 = Avx.LoadVector256(w2 + c); var v3 = Avx.LoadVector256(w3 + c);
            var xa = Avx.LoadVector256(x0 + c);
            a00 = Fma.MultiplyAdd(xa, v0, a00); a01 = Fma.MultiplyAdd(xa, v1, a01); a02 = Fma.MultiplyAdd(xa, v2, a02); a03 = Fma.MultiplyAdd(xa, v3, a03);
            var xb = Avx.LoadVector256(x1 + c);
            a10 = Fma.MultiplyAdd(xb, v0, a10); a11 = Fma.MultiplyAdd(xb, v1, a11); a12 = Fma.MultiplyAdd(xb, v2, a12); a13 = Fma.MultiplyAdd(xb, v3, a13);
            var xc = Avx.LoadVector256(x2 + c);
            a20 = Fma.MultiplyAdd(xc, v0, a20); a21 = Fma.MultiplyAdd(xc, v1, a21); a22 = Fma.MultiplyAdd(xc, v2, a22); a23 = Fma.MultiplyAdd(xc, v3, a23);
        }
        d[0] = Vector256.Sum(a00); d[1] = Vector256.Sum(a01); d[2] = Vector256.Sum(a02); d[3] = Vector256.Sum(a03);
        d[4] = Vector256.Sum(a10); d[5] = Vector256.Sum(a11); d[6] = Vector256.Sum(a12); d[7] = Vector256.Sum(a13);
        d[8] = Vector256.Sum(a20); d[9] = Vector256.Sum(a21); d[10] = Vector256.Sum(a22); d[11] = Vector256.Sum(a23);
        TailScalar(x0, x1, x2, w0, w1, w2, w3, c, cols, d);
    }

    /// <summary>AVX-512: the same blocking with 16-lane vectors and a masked tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4x3_512(float* x, int xStride, float* w0, float* w1, float* w2, float* w3, int cols, float* d)
    {
        float* x0 = x, x1 = x + xStride, x2 = x + 2 * xStride;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        int c = 0;
        for (; c + 16 <= cols; c += 16)
        {
            var v0 = Avx512F.LoadVector512(w0 + c); var v1 = Avx512F.LoadVector512(w1 + c);
            var v2 = Avx512F.LoadVector512(w2 + c); var v3 = Avx512F.LoadVector512(w3 + c);
            var xa = Avx512F.LoadVector512(x0 + c);
            a00 = Avx512F.FusedMultiplyAdd(xa, v0, a00); a01 = Avx512F.FusedMultiplyAdd(xa, v1, a01); a02 = Avx512F.FusedMultiplyAdd(xa, v2, a02); a03 = Avx512F.FusedMultiplyAdd(xa, v3, a03);
            var xb = Avx512F.LoadVector512(x1 + c);
            a10 = Avx512F.FusedMultiplyAdd(xb, v0, a10); a11 = Avx512F.FusedMultiplyAdd(xb, v1, a11); a12 = Avx512F.FusedMultiplyAdd(xb, v2, a12); a13 = Avx512F.FusedMultiplyAdd(xb, v3, a13);
            var xc = Avx512F.LoadVector512(x2 + c);
            a20 = Avx512F.FusedMultiplyAdd(xc, v0, a20); a21 = Avx512F.FusedMultiplyAdd(xc, v1, a21); a22 = Avx512F.FusedMultiplyAdd(xc, v2, a22); a23 = Avx512F.FusedMultiplyAdd(xc, v3, a23);
        }
        d[0] = Vector512.Sum(a00); d[1] = Vector512.Sum(a01); d[2] = Vector512.Sum(a02); d[3] = Vector512.Sum(a03);
        d[4] = Vector512.Sum(a10); d[5] = Vector512.Sum(a11); d[6] = Vector512.Sum(a12); d[7] = Vector512.Sum(a13);
        d[8] = Vector512.Sum(a20); d[9] = Vector512.Sum(a21); d[10] = Vector512.Sum(a22); d[11] = Vector512.Sum(a23);
        TailScalar(x0, x1, x2, w0, w1, w2, w3, c, cols, d);
    }

    private static void TailScalar(float* x0, float* x1, float* x2, float* w0, float* w1, float* w2, float* w3, int c, int cols, float* d)
    {
        for (; c < cols; c++)
        {
            float p = w0[c], q = w1[c], r = w2[c], s = w3[c];
            d[0] += x0[c] * p; d[1] += x0[c] * q; d[2] += x0[c] * r; d[3] += x0[c] * s;
            d[4] += x1[c] * p; d[5] += x1[c] * q; d[6] += x1[c] * r; d[7] += x1[c] * s;
            d[8] += x2[c] * p; d[9] += x2[c] * q; d[10] += x2[c] * r; d[11] += x2[c] * s;
        }
    }

    /// <summary>Decode hot path (AVX2): four bf16 rows widened in registers and dotted with one activation row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GemvBf16Tile256(ushort* w, int cols, float* x, float* y)
    {
        ushort* w0 = w, w1 = w + cols, w2 = w + 2 * cols, w3 = w + 3 * cols;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int c = 0;
        for (; c + 8 <= cols; c += 8)
        {
            var xv = Avx.LoadVector256(x + c);
            a0 = Fma.MultiplyAdd(xv, Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w0 + c), 16).AsSingle(), a0);
            a1 = Fma.MultiplyAdd(xv, Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w1 + c), 16).AsSingle(), a1);
            a2 = Fma.MultiplyAdd(xv, Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w2 + c), 16).AsSingle(), a2);
            a3 = Fma.MultiplyAdd(xv, Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w3 + c), 16).AsSingle(), a3);
        }
        float d0 = Vector256.Sum(a0), d1 = Vector256.Sum(a1), d2 = Vector256.Sum(a2), d3 = Vector256.Sum(a3);
        GemvBf16Tail(w0, w1, w2, w3, x, c, cols, ref d0, ref d1, ref d2, ref d3);
        y[0] = d0; y[1] = d1; y[2] = d2; y[3] = d3;
    }

    /// <summary>Decode hot path (AVX-512): 16 bf16 per row per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GemvBf16Tile512(ushort* w, int cols, float* x, float* y)
    {
        ushort* w0 = w, w1 = w + cols, w2 = w + 2 * cols, w3 = w + 3 * cols;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int c = 0;
        for (; c + 16 <= cols; c += 16)
        {
            var xv = Avx512F.LoadVector512(x + c);
            a0 = Avx512F.FusedMultiplyAdd(xv, Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Avx.LoadVector256(w0 + c)), 16).AsSingle(), a0);
            a1 = Avx512F.FusedMultiplyAdd(xv, Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Avx.LoadVector256(w1 + c)), 16).AsSingle(), a1);
            a2 = Avx512F.FusedMultiplyAdd(xv, Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Avx.LoadVector256(w2 + c)), 16).AsSingle(), a2);
            a3 = Avx512F.FusedMultiplyAdd(xv, Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Avx.LoadVector256(w3 + c)), 16).AsSingle(), a3);
        }
        float d0 = Vector512.Sum(a0), d1 = Vector512.Sum(a1), d2 = Vector512.Sum(a2), d3 = Vector512.Sum(a3);
        GemvBf16Tail(w0, w1, w2, w3, x, c, cols, ref d0, ref d1, ref d2, ref d3);
        y[0] = d0; y[1] = d1; y[2] = d2; y[3] = d3;
    }

    private static void GemvBf16Tail(ushort* w0, ushort* w1, ushort* w2, ushort* w3, float* x, int c, int cols, ref float d0, ref float d1, ref float d2, ref float d3)
    {
        for (; c < cols; c++)
        {
            float xv = x[c];
            d0 += xv * Bf16.ToFloat(w0[c]); d1 += xv * Bf16.ToFloat(w1[c]); d2 += xv * Bf16.ToFloat(w2[c]); d3 += xv * Bf16.ToFloat(w3[c]);
        }
    }
}
