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
/// Decode (n = 1) is bound by reading W once; verification (n = tree size) by the dot-product throughput. The fast
/// precision runs bf16 weights on generated vdpbf16ps kernels (<see cref="PanelProducts"/> for weights packed into
/// panels at load, <see cref="GeneratedProducts"/> for row-major ones) and the GGUF block types (Q8_0, Q4_0, Q4_K,
/// Q6_K) on int8 dot products (<see cref="QuantizedProducts"/>). The managed kernels widen row-major bf16 and f16 in
/// registers (<see cref="ManagedBf16Kernels"/>, <see cref="ManagedF32Kernels"/> with <see cref="F16Row"/>), read f32
/// rows as they are, and convert other rows (packed bf16, f16 with an infinity or NaN) to f32 a tile of 4 at a time.
/// </summary>
public static unsafe class MatMul
{
    private const int Tile = 4; // weight rows per micro-kernel call

    /// <summary>Most activation rows for which f16 weights are widened in the kernels: each group of three rows widens
    /// the tile again, so larger batches convert each tile to f32 once (the same bits: the widening is exact).
    /// `bench products` on a 1B f16 model, 2 AVX2 threads: in the kernels 1.8x faster at 3 rows, even at 8, 7% slower at
    /// 16, 25% at 64.</summary>
    private const int F16FusedMaxRows = 8;

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
        Check(x, n, w, y, bias);
        if (!IsSupported(isa)) throw new PlatformNotSupportedException($"{isa} kernels need CPU support");
        if (n == 0) return;
        if (compute.Precision == Precision.Fast && w.IsQuantized)
        {
            QuantizedProducts.Multiply(compute, x, n, w, y, bias);
            return;
        }
        if (compute.Precision == Precision.Fast && w.Type is DType.BF16 or DType.F16)
        {
            if (w.Type == DType.BF16 && compute.Generated is { Bf16: { } kernels, Bf16Panels: { } panels })
            {
                if (w.Layout == WeightLayout.Bf16Panels) PanelProducts.Multiply(compute, panels, x, n, w, y, bias);
                else GeneratedProducts.MultiplyBf16(compute, kernels, x, n, w, y, bias);
                return;
            }
            // No bf16 dot-product instruction: the same rounded activations through the fp32 kernels.
            if (t_rounded == null || t_rounded.Length < n * w.Cols) t_rounded = GC.AllocateUninitializedArray<float>(n * w.Cols, pinned: true);
            Bf16.Round(x[..(n * w.Cols)], t_rounded);
            x = t_rounded.AsSpan(0, n * w.Cols);
        }
        bool evenOdd = w.Type == DType.BF16 && w.Layout == WeightLayout.RowMajor && isa != Isa.Portable;
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
            // decode in quarters (Job.DecodeInQuarters) on AVX2 / AVX-VNNI and for f32/f16 rows; AVX-512's bf16 decode keeps one
            // row after another (measured faster on Zen 4 than four neighbouring rows interleaved; quarters unmeasured there)
            job.F16 = w.Type == DType.F16 && isa != Isa.Portable && w.F16IsFinite;
            job.Quarters = n == 1 && isa != Isa.Portable && (evenOdd ? isa is Isa.Avx2 or Isa.AvxVnni : w.Type == DType.F32 || job.F16);
            int tiles = (w.Rows + Tile - 1) / Tile;
            // enough rows per chunk to amortise scheduling, fewer when n is large (compute-bound)
            int minTiles = Math.Max(1, 64 / Math.Max(1, n));
            compute.Pool.For(tiles, job, minTiles);
            job.W = null!;
        }
    }

    /// <summary>
    /// Products of one input with two or three matrices of the same width (q/k/v, gate/up): y_j = x·W_jᵀ (+ bias_j),
    /// the same bits as a <see cref="Multiply"/> per matrix. On bf16 panels with generated kernels x is packed once and
    /// one pass of the pool covers every panel; so do quantized matrices of one type, for decode and batches
    /// (<see cref="QuantizedProducts.MultiplyShared"/>); other paths multiply one matrix after the other. Pass w2 = null for two.
    /// </summary>
    internal static void MultiplyShared(Compute compute, ReadOnlySpan<float> x, int n,
        WeightMatrix w0, Span<float> y0, ReadOnlySpan<float> bias0,
        WeightMatrix w1, Span<float> y1, ReadOnlySpan<float> bias1,
        WeightMatrix? w2 = null, Span<float> y2 = default, ReadOnlySpan<float> bias2 = default)
    {
        bool panels = compute.Precision == Precision.Fast && compute.Generated?.Bf16Panels != null && n > 0
            && w0.Layout == WeightLayout.Bf16Panels && w1.Layout == WeightLayout.Bf16Panels && (w2 == null || w2.Layout == WeightLayout.Bf16Panels)
            && w1.Cols == w0.Cols && (w2 == null || w2.Cols == w0.Cols);
        bool quantized = compute.Precision == Precision.Fast && IsSupported(compute.Isa) && QuantizedProducts.CanShare(w0, w1, w2);
        if (!panels && !quantized)
        {
            Multiply(compute, x, n, w0, y0, bias0);
            Multiply(compute, x, n, w1, y1, bias1);
            if (w2 != null) Multiply(compute, x, n, w2, y2, bias2);
            return;
        }
        Check(x, n, w0, y0, bias0); Check(x, n, w1, y1, bias1);
        if (w2 != null) Check(x, n, w2, y2, bias2);
        fixed (float* p0 = y0, p1 = y1, p2 = y2, b0 = bias0, b1 = bias1, b2 = bias2)
        {
            Span<PanelProducts.Output> outputs =
            [
                new() { W = w0, Y = p0, Bias = bias0.IsEmpty ? null : b0 },
                new() { W = w1, Y = p1, Bias = bias1.IsEmpty ? null : b1 },
                new() { W = w2!, Y = p2, Bias = bias2.IsEmpty ? null : b2 },
            ];
            if (quantized) QuantizedProducts.MultiplyShared(compute, x, n, outputs[..(w2 == null ? 2 : 3)]);
            else PanelProducts.Multiply(compute, compute.Generated!.Bf16Panels!, x, n, outputs[..(w2 == null ? 2 : 3)]);
        }
    }

    private static void Check(ReadOnlySpan<float> x, int n, WeightMatrix w, Span<float> y, ReadOnlySpan<float> bias)
    {
        if (x.Length < n * w.Cols) throw new ArgumentException($"x has {x.Length} floats, need {n}x{w.Cols}");
        if (y.Length < n * w.Rows) throw new ArgumentException($"y has {y.Length} floats, need {n}x{w.Rows}");
        if (!bias.IsEmpty && bias.Length < w.Rows) throw new ArgumentException("bias shorter than rows");
    }

    private sealed class Job : IRangeJob
    {
        public float* X, Y, Bias;
        public int N;
        public Isa Isa;
        public bool EvenOdd, Quarters;
        /// <summary>f16 rows read in place (finite ones: <see cref="WeightMatrix.F16IsFinite"/>).</summary>
        public bool F16;
        public WeightMatrix W = null!;
        [ThreadStatic] private static float[]? t_scratch;

        /// <summary>Every activation row against 4 f32/f16 weight rows (the last of which repeat the first when the tile
        /// is short): groups of three share each weight load, the last one or two rows use the one-row kernel, whose
        /// per-accumulator operation order is the same, so a row's result never depends on n (a tree pass reproduces
        /// single-token decoding bit for bit, which keeps greedy speculative output identical).</summary>
        private void FloatRows<TL, TV, TR>(void* w0, void* w1, void* w2, void* w3, int r0, int count, float* d)
            where TL : ISimdLanes<TV> where TV : struct where TR : IFloatRow
        {
            int cols = W.Cols, rows = W.Rows, n = N, i = 0;
            for (; i + 3 <= n; i += 3)
            {
                ManagedF32Kernels.Dot4x3<TL, TV, TR>(X + (long)i * cols, cols, w0, w1, w2, w3, cols, d);
                for (int a = 0; a < 3; a++)
                {
                    float* yi = Y + (long)(i + a) * rows + r0;
                    for (int k = 0; k < count; k++) yi[k] = d[a * 4 + k];
                }
            }
            for (; i < n; i++)
            {
                ManagedF32Kernels.Dot4x1<TL, TV, TR>(X + (long)i * cols, w0, w1, w2, w3, cols, d);
                float* yi = Y + (long)i * rows + r0;
                for (int k = 0; k < count; k++) yi[k] = d[k];
            }
        }

        /// <summary>
        /// Decode (one activation row) over weight rows [start, end): the rows are split into four quarters, and each
        /// kernel call takes the next row of every quarter, so the thread runs four independent accumulation chains
        /// (one chain of dependent FMAs per row is latency-bound below the memory's rate on AVX2) over four long
        /// sequential streams (more reads in flight than one stream; four neighbouring rows interleaved measured slower).
        /// Rows left over (fewer than four) use the same kernels, so every row's bits are those of a batch.
        /// </summary>
        private void DecodeInQuarters(int start, int end)
        {
            if (EvenOdd) Bf16Quarters<Lanes256, Vector256<float>>(start, end);
            else if (Isa == Isa.Avx512)
            {
                if (F16) FloatQuarters<Lanes512, Vector512<float>, F16Row>(start, end);
                else FloatQuarters<Lanes512, Vector512<float>, F32Row>(start, end);
            }
            else if (F16) FloatQuarters<Lanes256, Vector256<float>, F16Row>(start, end);
            else FloatQuarters<Lanes256, Vector256<float>, F32Row>(start, end);
            if (Bias != null)
                for (int r = start; r < end; r++) Y[r] += Bias[r];
        }

        private void Bf16Quarters<TL, TV>(int start, int end) where TL : ISimdLanes<TV> where TV : struct
        {
            int cols = W.Cols, q = (end - start) / 4;
            ushort* w0 = (ushort*)W.Data + (long)start * cols;
            long qs = (long)q * cols;
            float* d = stackalloc float[4];
            for (int j = 0; j < q; j++, w0 += cols)
            {
                ManagedBf16Kernels.Dot4x1<TL, TV>(w0, w0 + qs, w0 + 2 * qs, w0 + 3 * qs, X, cols, d);
                for (int k = 0; k < 4; k++) Y[start + j + k * q] = d[k];
            }
            for (int r = start + 4 * q; r < end; r++) ManagedBf16Kernels.Dot1x1<TL, TV>((ushort*)W.Data + (long)r * cols, X, cols, Y + r);
        }

        private void FloatQuarters<TL, TV, TR>(int start, int end) where TL : ISimdLanes<TV> where TV : struct where TR : IFloatRow
        {
            int cols = W.Cols, rb = W.RowBytes, q = (end - start) / 4;
            byte* w0 = (byte*)W.Data + (long)start * rb;
            long qs = (long)q * rb;
            float* d = stackalloc float[4];
            for (int j = 0; j < q; j++, w0 += rb)
            {
                ManagedF32Kernels.Dot4x1<TL, TV, TR>(X, w0, w0 + qs, w0 + 2 * qs, w0 + 3 * qs, cols, d);
                for (int k = 0; k < 4; k++) Y[start + j + k * q] = d[k];
            }
            int r0 = start + 4 * q, left = end - r0;
            if (left == 0) return;
            byte* l0 = (byte*)W.Data + (long)r0 * rb;
            ManagedF32Kernels.Dot4x1<TL, TV, TR>(X, l0, left > 1 ? l0 + rb : l0, left > 2 ? l0 + 2 * rb : l0, l0, cols, d);
            for (int k = 0; k < left; k++) Y[r0 + k] = d[k];
        }

        public void Execute(int startTile, int endTile)
        {
            var w = W;
            int cols = w.Cols, rows = w.Rows, n = N;
            if (Quarters)
            {
                DecodeInQuarters(startTile * Tile, Math.Min(rows, endTile * Tile));
                return;
            }
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
                            if (Isa == Isa.Avx512) ManagedBf16Kernels.Dot4x3<Lanes512, Vector512<float>>(w0, w1, w2, w3, xi, cols, d);
                            else ManagedBf16Kernels.Dot4x3<Lanes256, Vector256<float>>(w0, w1, w2, w3, xi, cols, d);
                            for (int a = 0; a < 3; a++)
                            {
                                float* yi = Y + (long)(i + a) * rows + r0;
                                for (int k = 0; k < count; k++) yi[k] = d[a * 4 + k];
                            }
                        }
                        if (n == 1)
                        {
                            // AVX-512 decode (AVX2 decodes in quarters): one row after another is a single memory
                            // stream, which the hardware prefetchers follow far better than four interleaved rows (+30%
                            // bandwidth measured on Zen 4).
                            for (int k = 0; k < count; k++)
                            {
                                ushort* wk = w0 + (long)k * cols;
                                if (Isa == Isa.Avx512) ManagedBf16Kernels.Dot1x1<Lanes512, Vector512<float>>(wk, X, cols, Y + r0 + k);
                                else ManagedBf16Kernels.Dot1x1<Lanes256, Vector256<float>>(wk, X, cols, Y + r0 + k);
                            }
                            i = 1;
                        }
                        for (; i < n; i++)
                        {
                            float* xi = X + (long)i * cols;
                            if (Isa == Isa.Avx512) ManagedBf16Kernels.Dot4x1<Lanes512, Vector512<float>>(w0, w1, w2, w3, xi, cols, d);
                            else ManagedBf16Kernels.Dot4x1<Lanes256, Vector256<float>>(w0, w1, w2, w3, xi, cols, d);
                            float* yi = Y + (long)i * rows + r0;
                            for (int k = 0; k < count; k++) yi[k] = d[k];
                        }
                    }
                    else
                    {
                        // f32 and f16 rows are read in place; other types (packed bf16, quantized weights at the exact
                        // precision, f16 in large batches, with an infinity or NaN or on the portable path) are
                        // converted to f32 rows first
                        bool f16 = F16 && n <= F16FusedMaxRows;
                        byte* w0;
                        long step = rb;
                        if (w.Type == DType.F32 || f16) w0 = (byte*)w.Data + (long)r0 * rb;
                        else
                        {
                            for (int k = 0; k < count; k++) w.ReadRowUnchecked(r0 + k, new Span<float>(s + k * cols, cols));
                            w0 = (byte*)s;
                            step = 4L * cols;
                        }
                        byte* w1 = count > 1 ? w0 + step : w0;
                        byte* w2 = count > 2 ? w0 + 2 * step : w0;
                        byte* w3 = count > 3 ? w0 + 3 * step : w0;
                        if (Isa == Isa.Portable)
                            for (int i = 0; i < n; i++)
                            {
                                ManagedF32Kernels.Dot4(X + (long)i * cols, (float*)w0, (float*)w1, (float*)w2, (float*)w3, cols, d);
                                for (int k = 0; k < count; k++) Y[(long)i * rows + r0 + k] = d[k];
                            }
                        else if (Isa == Isa.Avx512)
                        {
                            if (f16) FloatRows<Lanes512, Vector512<float>, F16Row>(w0, w1, w2, w3, r0, count, d);
                            else FloatRows<Lanes512, Vector512<float>, F32Row>(w0, w1, w2, w3, r0, count, d);
                        }
                        else if (f16) FloatRows<Lanes256, Vector256<float>, F16Row>(w0, w1, w2, w3, r0, count, d);
                        else FloatRows<Lanes256, Vector256<float>, F32Row>(w0, w1, w2, w3, r0, count, d);
                    }
                    if (Bias != null)
                        for (int i = 0; i < n; i++)
                            for (int k = 0; k < count; k++) Y[(long)i * rows + r0 + k] += Bias[r0 + k];
                }
            }
        }
    }
}
