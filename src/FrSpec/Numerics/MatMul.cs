using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FrSpec.Numerics;

/// <summary>Instruction-set paths of the kernels; each is tested against the scalar reference.</summary>
public enum Isa
{
    Portable,
    Avx2,
    /// <summary>AVX2 kernels, with AVX-VNNI (VEX vpdpbusd) for int8 dot products.</summary>
    AvxVnni,
    Avx512,
}

/// <summary>
/// y = x·Wᵀ (+ bias) for n activation rows against a [rows, cols] weight matrix, multithreaded over weight rows.
/// Decode (n = 1) is bound by reading W once; verification (n = tree size) is bound by FMA throughput. bf16 rows are
/// widened in registers (even/odd lanes, x permuted to match) with 4×3 register blocking; f16/f32 rows are converted
/// to f32 a tile of 4 at a time and run through a 4×3 f32 kernel.
/// </summary>
public static unsafe class MatMul
{
    private const int Tile = 4; // weight rows per micro-kernel call

    /// <summary>The fastest path this CPU supports (<see cref="EngineOptions.Isa"/> can choose another).</summary>
    public static Isa BestIsa { get; } =
        IsSupported(Isa.Avx512) ? Isa.Avx512 : IsSupported(Isa.AvxVnni) ? Isa.AvxVnni : IsSupported(Isa.Avx2) ? Isa.Avx2 : Isa.Portable;

    public static bool IsSupported(Isa isa) => isa switch
    {
        Isa.Avx512 => Avx512F.IsSupported && Avx512BW.IsSupported,
        Isa.AvxVnni => Avx2.IsSupported && Fma.IsSupported && AvxVnni.IsSupported,
        Isa.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        _ => true,
    };

    [ThreadStatic] private static Job? t_job;
    [ThreadStatic] private static float[]? t_permuted;
    [ThreadStatic] private static float[]? t_rounded;

    /// <summary>Within each full block, even elements first, then odd ones; the tail stays in place.</summary>
    internal static void PermuteEvenOdd(ReadOnlySpan<float> x, Span<float> dst, int block)
    {
        int full = x.Length / block * block, half = block / 2;
        for (int b = 0; b < full; b += block)
            for (int j = 0; j < half; j++)
            {
                dst[b + j] = x[b + 2 * j];
                dst[b + half + j] = x[b + 2 * j + 1];
            }
        x[full..].CopyTo(dst[full..]);
    }

    /// <summary>
    /// y[i, r] = Σc x[i, c]·W[r, c] + bias[r] for i &lt; n, r &lt; W.Rows. x is [n, W.Cols], y is [n, W.Rows]. Runs on
    /// <paramref name="compute"/>'s threads and kernel path.
    /// </summary>
    public static void Multiply(Compute compute, ReadOnlySpan<float> x, int n, WeightMatrix w, Span<float> y, ReadOnlySpan<float> bias = default)
    {
        var isa = compute.Isa;
        if (x.Length < n * w.Cols) throw new ArgumentException($"x has {x.Length} floats, need {n}x{w.Cols}");
        if (y.Length < n * w.Rows) throw new ArgumentException($"y has {y.Length} floats, need {n}x{w.Rows}");
        if (!bias.IsEmpty && bias.Length < w.Rows) throw new ArgumentException("bias shorter than rows");
        if (!IsSupported(isa)) throw new PlatformNotSupportedException($"{isa} kernels need CPU support");
        if (n == 0) return;
        if (compute.Precision == Precision.Fast && w.Type == DType.Q8_0)
        {
            Int8Products.Multiply(compute, x, n, w, y, bias);
            return;
        }
        if (compute.Precision == Precision.Fast && w.Type is DType.BF16 or DType.F16)
        {
            if (w.Type == DType.BF16 && compute.Generated?.Bf16 is { } kernels)
            {
                GeneratedProducts.MultiplyBf16(compute, kernels, x, n, w, y, bias);
                return;
            }
            // No bf16 dot-product instruction: the same rounded activations through the fp32 kernels.
            if (t_rounded == null || t_rounded.Length < n * w.Cols) t_rounded = GC.AllocateUninitializedArray<float>(n * w.Cols, pinned: true);
            Bf16.Round(x[..(n * w.Cols)], t_rounded);
            x = t_rounded.AsSpan(0, n * w.Cols);
        }
        bool evenOdd = w.Type == DType.BF16 && isa != Isa.Portable;
        if (evenOdd)
        {
            // bf16 kernels split each block of weights into even and odd lanes (one shift, one and); x is permuted the
            // same way once here, so the kernels need no shuffles.
            int block = isa == Isa.Avx512 ? 32 : 16;
            if (t_permuted == null || t_permuted.Length < n * w.Cols) t_permuted = GC.AllocateUninitializedArray<float>(n * w.Cols, pinned: true);
            for (int i = 0; i < n; i++) PermuteEvenOdd(x.Slice(i * w.Cols, w.Cols), t_permuted.AsSpan(i * w.Cols, w.Cols), block);
        }
        fixed (float* px0 = x, py = y, pb = bias, pp = t_permuted)
        {
            float* px = evenOdd ? pp : px0;
            var job = t_job ??= new Job();
            job.X = px; job.Y = py; job.Bias = bias.IsEmpty ? null : pb; job.N = n; job.W = w; job.Isa = isa; job.EvenOdd = evenOdd;
            int tiles = (w.Rows + Tile - 1) / Tile;
            // enough rows per chunk to amortise scheduling, fewer when n is large (compute-bound)
            int minTiles = Math.Max(1, 64 / Math.Max(1, n));
            compute.Pool.For(tiles, job, minTiles);
            job.W = null!;
        }
    }

    private sealed class Job : IRangeJob
    {
        public float* X, Y, Bias;
        public int N;
        public Isa Isa;
        public bool EvenOdd;
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
                    if (EvenOdd)
                    {
                        // bf16 rows read straight from memory. Groups of three activation rows share each weight load;
                        // leftover rows use the one-row kernel, whose per-accumulator operation order is the same, so a
                        // row's result never depends on n (a tree pass reproduces single-token decoding bit for bit,
                        // which keeps greedy speculative output identical with bf16 weights).
                        ushort* w0 = (ushort*)((byte*)w.Data + (long)r0 * rb);
                        ushort* w1 = count > 1 ? w0 + cols : w0;
                        ushort* w2 = count > 2 ? w0 + 2 * cols : w0;
                        ushort* w3 = count > 3 ? w0 + 3 * cols : w0;
                        int i = 0;
                        for (; i + 3 <= n; i += 3)
                        {
                            float* xi = X + (long)i * cols;
                            if (Isa == Isa.Avx512) Bf16x4x3_512(w0, w1, w2, w3, xi, cols, d);
                            else Bf16x4x3_256(w0, w1, w2, w3, xi, cols, d);
                            for (int a = 0; a < 3; a++)
                            {
                                float* yi = Y + (long)(i + a) * rows + r0;
                                for (int k = 0; k < count; k++) yi[k] = d[a * 4 + k];
                            }
                        }
                        if (n == 1)
                        {
                            // Decode: one row after another is a single memory stream, which the hardware prefetchers
                            // follow far better than four interleaved rows (+30% bandwidth measured).
                            for (int k = 0; k < count; k++)
                            {
                                ushort* wk = w0 + (long)k * cols;
                                if (Isa == Isa.Avx512) Bf16x1x1_512(wk, X, cols, Y + r0 + k);
                                else Bf16x1x1_256(wk, X, cols, Y + r0 + k);
                            }
                            i = 1;
                        }
                        for (; i < n; i++)
                        {
                            float* xi = X + (long)i * cols;
                            if (Isa == Isa.Avx512) Bf16x4x1_512(w0, w1, w2, w3, xi, cols, d);
                            else Bf16x4x1_256(w0, w1, w2, w3, xi, cols, d);
                            float* yi = Y + (long)i * rows + r0;
                            for (int k = 0; k < count; k++) yi[k] = d[k];
                        }
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

    // bf16 kernels. A block of 2B bf16 values loaded as B 32-bit lanes holds element 2j in the low half and 2j+1
    // in the high half of lane j: (v << 16) is the even elements as floats, (v & 0xFFFF0000) the odd ones.

    /// <summary>AVX-512: 4 bf16 weight rows × 3 permuted activation rows; 32 columns per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Bf16x4x3_512(ushort* w0, ushort* w1, ushort* w2, ushort* w3, float* x, int cols, float* d)
    {
        float* x0 = x, x1 = x + cols, x2 = x + 2 * cols;
        var hi = Vector512.Create(0xFFFF0000u);
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        int c = 0;
        for (; c + 32 <= cols; c += 32)
        {
            var v0 = Avx512F.LoadVector512((uint*)(w0 + c)); var v1 = Avx512F.LoadVector512((uint*)(w1 + c));
            var v2 = Avx512F.LoadVector512((uint*)(w2 + c)); var v3 = Avx512F.LoadVector512((uint*)(w3 + c));
            var e0 = Avx512F.ShiftLeftLogical(v0, 16).AsSingle(); var e1 = Avx512F.ShiftLeftLogical(v1, 16).AsSingle();
            var e2 = Avx512F.ShiftLeftLogical(v2, 16).AsSingle(); var e3 = Avx512F.ShiftLeftLogical(v3, 16).AsSingle();
            var o0 = Avx512F.And(v0, hi).AsSingle(); var o1 = Avx512F.And(v1, hi).AsSingle();
            var o2 = Avx512F.And(v2, hi).AsSingle(); var o3 = Avx512F.And(v3, hi).AsSingle();
            var xe = Avx512F.LoadVector512(x0 + c); var xo = Avx512F.LoadVector512(x0 + c + 16);
            a00 = Avx512F.FusedMultiplyAdd(o0, xo, Avx512F.FusedMultiplyAdd(e0, xe, a00));
            a01 = Avx512F.FusedMultiplyAdd(o1, xo, Avx512F.FusedMultiplyAdd(e1, xe, a01));
            a02 = Avx512F.FusedMultiplyAdd(o2, xo, Avx512F.FusedMultiplyAdd(e2, xe, a02));
            a03 = Avx512F.FusedMultiplyAdd(o3, xo, Avx512F.FusedMultiplyAdd(e3, xe, a03));
            xe = Avx512F.LoadVector512(x1 + c); xo = Avx512F.LoadVector512(x1 + c + 16);
            a10 = Avx512F.FusedMultiplyAdd(o0, xo, Avx512F.FusedMultiplyAdd(e0, xe, a10));
            a11 = Avx512F.FusedMultiplyAdd(o1, xo, Avx512F.FusedMultiplyAdd(e1, xe, a11));
            a12 = Avx512F.FusedMultiplyAdd(o2, xo, Avx512F.FusedMultiplyAdd(e2, xe, a12));
            a13 = Avx512F.FusedMultiplyAdd(o3, xo, Avx512F.FusedMultiplyAdd(e3, xe, a13));
            xe = Avx512F.LoadVector512(x2 + c); xo = Avx512F.LoadVector512(x2 + c + 16);
            a20 = Avx512F.FusedMultiplyAdd(o0, xo, Avx512F.FusedMultiplyAdd(e0, xe, a20));
            a21 = Avx512F.FusedMultiplyAdd(o1, xo, Avx512F.FusedMultiplyAdd(e1, xe, a21));
            a22 = Avx512F.FusedMultiplyAdd(o2, xo, Avx512F.FusedMultiplyAdd(e2, xe, a22));
            a23 = Avx512F.FusedMultiplyAdd(o3, xo, Avx512F.FusedMultiplyAdd(e3, xe, a23));
        }
        d[0] = Vector512.Sum(a00); d[1] = Vector512.Sum(a01); d[2] = Vector512.Sum(a02); d[3] = Vector512.Sum(a03);
        d[4] = Vector512.Sum(a10); d[5] = Vector512.Sum(a11); d[6] = Vector512.Sum(a12); d[7] = Vector512.Sum(a13);
        d[8] = Vector512.Sum(a20); d[9] = Vector512.Sum(a21); d[10] = Vector512.Sum(a22); d[11] = Vector512.Sum(a23);
        for (int r = 0; r < 3; r++) Bf16Tail(w0, w1, w2, w3, x + r * cols, c, cols, d + 4 * r);
    }

    /// <summary>AVX-512: 4 bf16 weight rows × 1 permuted activation row, same per-accumulator order as the 4×3 kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Bf16x4x1_512(ushort* w0, ushort* w1, ushort* w2, ushort* w3, float* x, int cols, float* d)
    {
        var hi = Vector512.Create(0xFFFF0000u);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int c = 0;
        for (; c + 32 <= cols; c += 32)
        {
            var v0 = Avx512F.LoadVector512((uint*)(w0 + c)); var v1 = Avx512F.LoadVector512((uint*)(w1 + c));
            var v2 = Avx512F.LoadVector512((uint*)(w2 + c)); var v3 = Avx512F.LoadVector512((uint*)(w3 + c));
            var xe = Avx512F.LoadVector512(x + c); var xo = Avx512F.LoadVector512(x + c + 16);
            a0 = Avx512F.FusedMultiplyAdd(Avx512F.And(v0, hi).AsSingle(), xo, Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(v0, 16).AsSingle(), xe, a0));
            a1 = Avx512F.FusedMultiplyAdd(Avx512F.And(v1, hi).AsSingle(), xo, Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(v1, 16).AsSingle(), xe, a1));
            a2 = Avx512F.FusedMultiplyAdd(Avx512F.And(v2, hi).AsSingle(), xo, Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(v2, 16).AsSingle(), xe, a2));
            a3 = Avx512F.FusedMultiplyAdd(Avx512F.And(v3, hi).AsSingle(), xo, Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(v3, 16).AsSingle(), xe, a3));
        }
        d[0] = Vector512.Sum(a0); d[1] = Vector512.Sum(a1); d[2] = Vector512.Sum(a2); d[3] = Vector512.Sum(a3);
        Bf16Tail(w0, w1, w2, w3, x, c, cols, d);
    }

    /// <summary>AVX-512: one bf16 row × one permuted activation row, same per-accumulator order as the 4-row kernels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Bf16x1x1_512(ushort* w0, float* x, int cols, float* d)
    {
        var hi = Vector512.Create(0xFFFF0000u);
        Vector512<float> a0 = default;
        int c = 0;
        for (; c + 32 <= cols; c += 32)
        {
            var v0 = Avx512F.LoadVector512((uint*)(w0 + c));
            a0 = Avx512F.FusedMultiplyAdd(Avx512F.And(v0, hi).AsSingle(), Avx512F.LoadVector512(x + c + 16),
                Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(v0, 16).AsSingle(), Avx512F.LoadVector512(x + c), a0));
        }
        d[0] = Vector512.Sum(a0);
        for (; c < cols; c++) d[0] += x[c] * Bf16.ToFloat(w0[c]);
    }

    /// <summary>AVX2: one bf16 row × one permuted activation row, same per-accumulator order as the 4-row kernels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Bf16x1x1_256(ushort* w0, float* x, int cols, float* d)
    {
        var hi = Vector256.Create(0xFFFF0000u);
        Vector256<float> a0 = default;
        int c = 0;
        for (; c + 16 <= cols; c += 16)
        {
            var v0 = Avx.LoadVector256((uint*)(w0 + c));
            a0 = Fma.MultiplyAdd(Avx2.And(v0, hi).AsSingle(), Avx.LoadVector256(x + c + 8),
                Fma.MultiplyAdd(Avx2.ShiftLeftLogical(v0, 16).AsSingle(), Avx.LoadVector256(x + c), a0));
        }
        d[0] = Vector256.Sum(a0);
        for (; c < cols; c++) d[0] += x[c] * Bf16.ToFloat(w0[c]);
    }

    /// <summary>AVX2: 4 bf16 weight rows × 3 permuted activation rows; 16 columns per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Bf16x4x3_256(ushort* w0, ushort* w1, ushort* w2, ushort* w3, float* x, int cols, float* d)
    {
        float* x0 = x, x1 = x + cols, x2 = x + 2 * cols;
        var hi = Vector256.Create(0xFFFF0000u);
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
        int c = 0;
        for (; c + 16 <= cols; c += 16)
        {
            var v0 = Avx.LoadVector256((uint*)(w0 + c)); var v1 = Avx.LoadVector256((uint*)(w1 + c));
            var v2 = Avx.LoadVector256((uint*)(w2 + c)); var v3 = Avx.LoadVector256((uint*)(w3 + c));
            var e0 = Avx2.ShiftLeftLogical(v0, 16).AsSingle(); var e1 = Avx2.ShiftLeftLogical(v1, 16).AsSingle();
            var e2 = Avx2.ShiftLeftLogical(v2, 16).AsSingle(); var e3 = Avx2.ShiftLeftLogical(v3, 16).AsSingle();
            var o0 = Avx2.And(v0, hi).AsSingle(); var o1 = Avx2.And(v1, hi).AsSingle();
            var o2 = Avx2.And(v2, hi).AsSingle(); var o3 = Avx2.And(v3, hi).AsSingle();
            var xe = Avx.LoadVector256(x0 + c); var xo = Avx.LoadVector256(x0 + c + 8);
            a00 = Fma.MultiplyAdd(o0, xo, Fma.MultiplyAdd(e0, xe, a00));
            a01 = Fma.MultiplyAdd(o1, xo, Fma.MultiplyAdd(e1, xe, a01));
            a02 = Fma.MultiplyAdd(o2, xo, Fma.MultiplyAdd(e2, xe, a02));
            a03 = Fma.MultiplyAdd(o3, xo, Fma.MultiplyAdd(e3, xe, a03));
            xe = Avx.LoadVector256(x1 + c); xo = Avx.LoadVector256(x1 + c + 8);
            a10 = Fma.MultiplyAdd(o0, xo, Fma.MultiplyAdd(e0, xe, a10));
            a11 = Fma.MultiplyAdd(o1, xo, Fma.MultiplyAdd(e1, xe, a11));
            a12 = Fma.MultiplyAdd(o2, xo, Fma.MultiplyAdd(e2, xe, a12));
            a13 = Fma.MultiplyAdd(o3, xo, Fma.MultiplyAdd(e3, xe, a13));
            xe = Avx.LoadVector256(x2 + c); xo = Avx.LoadVector256(x2 + c + 8);
            a20 = Fma.MultiplyAdd(o0, xo, Fma.MultiplyAdd(e0, xe, a20));
            a21 = Fma.MultiplyAdd(o1, xo, Fma.MultiplyAdd(e1, xe, a21));
            a22 = Fma.MultiplyAdd(o2, xo, Fma.MultiplyAdd(e2, xe, a22));
            a23 = Fma.MultiplyAdd(o3, xo, Fma.MultiplyAdd(e3, xe, a23));
        }
        d[0] = Vector256.Sum(a00); d[1] = Vector256.Sum(a01); d[2] = Vector256.Sum(a02); d[3] = Vector256.Sum(a03);
        d[4] = Vector256.Sum(a10); d[5] = Vector256.Sum(a11); d[6] = Vector256.Sum(a12); d[7] = Vector256.Sum(a13);
        d[8] = Vector256.Sum(a20); d[9] = Vector256.Sum(a21); d[10] = Vector256.Sum(a22); d[11] = Vector256.Sum(a23);
        for (int r = 0; r < 3; r++) Bf16Tail(w0, w1, w2, w3, x + r * cols, c, cols, d + 4 * r);
    }

    /// <summary>AVX2: 4 bf16 weight rows × 1 permuted activation row, same per-accumulator order as the 4×3 kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Bf16x4x1_256(ushort* w0, ushort* w1, ushort* w2, ushort* w3, float* x, int cols, float* d)
    {
        var hi = Vector256.Create(0xFFFF0000u);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int c = 0;
        for (; c + 16 <= cols; c += 16)
        {
            var v0 = Avx.LoadVector256((uint*)(w0 + c)); var v1 = Avx.LoadVector256((uint*)(w1 + c));
            var v2 = Avx.LoadVector256((uint*)(w2 + c)); var v3 = Avx.LoadVector256((uint*)(w3 + c));
            var xe = Avx.LoadVector256(x + c); var xo = Avx.LoadVector256(x + c + 8);
            a0 = Fma.MultiplyAdd(Avx2.And(v0, hi).AsSingle(), xo, Fma.MultiplyAdd(Avx2.ShiftLeftLogical(v0, 16).AsSingle(), xe, a0));
            a1 = Fma.MultiplyAdd(Avx2.And(v1, hi).AsSingle(), xo, Fma.MultiplyAdd(Avx2.ShiftLeftLogical(v1, 16).AsSingle(), xe, a1));
            a2 = Fma.MultiplyAdd(Avx2.And(v2, hi).AsSingle(), xo, Fma.MultiplyAdd(Avx2.ShiftLeftLogical(v2, 16).AsSingle(), xe, a2));
            a3 = Fma.MultiplyAdd(Avx2.And(v3, hi).AsSingle(), xo, Fma.MultiplyAdd(Avx2.ShiftLeftLogical(v3, 16).AsSingle(), xe, a3));
        }
        d[0] = Vector256.Sum(a0); d[1] = Vector256.Sum(a1); d[2] = Vector256.Sum(a2); d[3] = Vector256.Sum(a3);
        Bf16Tail(w0, w1, w2, w3, x, c, cols, d);
    }

    /// <summary>Columns after the last full block (not permuted), in natural order.</summary>
    private static void Bf16Tail(ushort* w0, ushort* w1, ushort* w2, ushort* w3, float* x, int c, int cols, float* d)
    {
        for (; c < cols; c++)
        {
            float xv = x[c];
            d[0] += xv * Bf16.ToFloat(w0[c]); d[1] += xv * Bf16.ToFloat(w1[c]); d[2] += xv * Bf16.ToFloat(w2[c]); d[3] += xv * Bf16.ToFloat(w3[c]);
        }
    }
}
