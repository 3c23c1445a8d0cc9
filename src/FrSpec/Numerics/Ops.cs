using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FrSpec.Numerics;

/// <summary>Element-wise and row-wise operations of a Llama-style decoder, on f32 activations.</summary>
public static class Ops
{
    /// <summary>RMSNorm of one row: out = x / sqrt(mean(x²) + eps) ⊙ weight (weight may be empty = ones).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> output)
    {
        float ss = TensorPrimitives.Dot(x, x);
        float scale = 1f / MathF.Sqrt(ss / x.Length + eps);
        if (weight.IsEmpty) TensorPrimitives.Multiply(x, scale, output);
        else ScaleAndWeigh(x, scale, weight, output);
    }

    /// <summary>
    /// x ← x + residual, then output ← RMSNorm(x): a layer's residual add and the next norm in one visit of the row (the
    /// row is read from memory once, then from L1). The bits are those of TensorPrimitives.Add followed by
    /// <see cref="RmsNorm"/>: the add is element-wise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddAndNorm(Span<float> x, ReadOnlySpan<float> residual, ReadOnlySpan<float> weight, float eps, Span<float> output)
    {
        Add(x, residual);
        RmsNorm(x, weight, eps, output);
    }

    /// <summary>x ← x + y element by element (TensorPrimitives.Add's bits), written out because TensorPrimitives' AVX-512
    /// code is jitted at run time and runs at tier 0, many times slower, for its first thousands of calls. Vectors only
    /// where the machine has them (emulated ones are slower than the plain loop); the plain loop gives the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Add(Span<float> x, ReadOnlySpan<float> y)
    {
        int n = x.Length, i = 0;
        if (y.Length < n) throw new ArgumentException("y shorter than x");
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ys = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
                (Vector512.LoadUnsafe(ref xs, (nuint)i) + Vector512.LoadUnsafe(ref ys, (nuint)i)).StoreUnsafe(ref xs, (nuint)i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
                (Vector256.LoadUnsafe(ref xs, (nuint)i) + Vector256.LoadUnsafe(ref ys, (nuint)i)).StoreUnsafe(ref xs, (nuint)i);
        for (; i < n; i++) x[i] += y[i];
    }

    /// <summary>
    /// The largest of x[0, n) (n ≥ 1), 16 elements per step (one 16-lane or two 8-lane vectors of
    /// <typeparamref name="TL"/>; the caller picks the width). TensorPrimitives.Max's value: the same bits, NaN payloads
    /// aside (NaN if any element is NaN, but of a row with two different NaNs either may come out here and the other
    /// there), +0 above −0. Every maximum here, vector and scalar, is IEEE 754:2019 maximum, so neither the width nor
    /// the order of the comparisons changes the value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe float Max<TL, TV>(float* x, int n) where TL : ISimdLanes<TV> where TV : struct
    {
        int k = 0;
        float max = float.NegativeInfinity; // the maximum's identity: max(−∞, v) is v, −0 and NaN included
        if (Vector256.IsHardwareAccelerated && n >= 16) // emulated vectors are slower than the plain loop
        {
            bool two = TL.Count == 8;
            TV m0 = TL.Load(x), m1 = two ? TL.Load(x + 8) : m0;
            for (k = 16; k + 16 <= n; k += 16)
            {
                m0 = TL.Max(m0, TL.Load(x + k));
                if (two) m1 = TL.Max(m1, TL.Load(x + k + 8));
            }
            float* lanes = stackalloc float[16];
            TL.Store(m0, lanes);
            if (two) TL.Store(m1, lanes + 8);
            for (int l = 0; l < 16; l++) max = MathF.Max(max, lanes[l]);
        }
        for (; k < n; k++) max = MathF.Max(max, x[k]);
        return max;
    }

    /// <summary>x[0, n) ← x·factor, one IEEE product per element (TensorPrimitives.Multiply's bits), 16 elements per
    /// step on <typeparamref name="TL"/>'s vectors where the machine has vectors, the rest one at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void Scale<TL, TV>(float* x, int n, float factor) where TL : ISimdLanes<TV> where TV : struct
    {
        int k = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var f = TL.Broadcast(factor);
            for (; k + 16 <= n; k += 16)
            {
                TL.Store(TL.Multiply(TL.Load(x + k), f), x + k);
                if (TL.Count == 8) TL.Store(TL.Multiply(TL.Load(x + k + 8), f), x + k + 8);
            }
        }
        for (; k < n; k++) x[k] *= factor;
    }

    /// <summary>output = (x · scale) ⊙ weight in one pass, rounding as the two multiplications in turn (each lane is
    /// two IEEE products in that order; a plain tail gives the same bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleAndWeigh(ReadOnlySpan<float> x, float scale, ReadOnlySpan<float> weight, Span<float> output)
    {
        int n = x.Length, i = 0;
        if (weight.Length < n || output.Length < n) throw new ArgumentException("weight or output shorter than x");
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ws = ref MemoryMarshal.GetReference(weight);
        ref float os = ref MemoryMarshal.GetReference(output);
        if (Vector512.IsHardwareAccelerated)
        {
            var s16 = Vector512.Create(scale);
            for (; i + 16 <= n; i += 16)
                (Vector512.LoadUnsafe(ref xs, (nuint)i) * s16 * Vector512.LoadUnsafe(ref ws, (nuint)i)).StoreUnsafe(ref os, (nuint)i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var s8 = Vector256.Create(scale);
            for (; i + 8 <= n; i += 8)
                (Vector256.LoadUnsafe(ref xs, (nuint)i) * s8 * Vector256.LoadUnsafe(ref ws, (nuint)i)).StoreUnsafe(ref os, (nuint)i);
        }
        for (; i < n; i++) output[i] = x[i] * scale * weight[i];
    }

    /// <summary>gate ← silu(gate) ⊙ up, the SwiGLU activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SiluMul(Span<float> gate, ReadOnlySpan<float> up)
    {
        // silu(g) = g * sigmoid(g) = g / (1 + e^-g), lane by lane through the project's vector exp: 16 lanes where the
        // machine has them, then 8, and the tail through the same 8-lane code (padded), so each element's result is
        // independent of the row count and of where it falls in the row (batch invariance)
        if (up.Length < gate.Length) throw new ArgumentException("up shorter than gate");
        int n = gate.Length, i = 0;
        ref float gs = ref MemoryMarshal.GetReference(gate);
        ref float us = ref MemoryMarshal.GetReference(up);
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
            {
                var g = Vector512.LoadUnsafe(ref gs, (nuint)i);
                (g / (Vector512<float>.One + VectorExp.Exp16(-g)) * Vector512.LoadUnsafe(ref us, (nuint)i)).StoreUnsafe(ref gs, (nuint)i);
            }
        for (; i + 8 <= n; i += 8)
        {
            var g = Vector256.LoadUnsafe(ref gs, (nuint)i);
            Silu8(g, Vector256.LoadUnsafe(ref us, (nuint)i)).StoreUnsafe(ref gs, (nuint)i);
        }
        if (i < n)
        {
            Span<float> g8 = stackalloc float[8], u8 = stackalloc float[8];
            g8.Clear(); u8.Clear();
            gate[i..].CopyTo(g8); up[i..n].CopyTo(u8);
            Silu8(Vector256.Create((ReadOnlySpan<float>)g8), Vector256.Create((ReadOnlySpan<float>)u8)).CopyTo(g8);
            g8[..(n - i)].CopyTo(gate[i..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Silu8(Vector256<float> g, Vector256<float> u) => g / (Vector256<float>.One + VectorExp.Exp8(-g)) * u;

    /// <summary>In-place softmax with max subtraction.</summary>
    public static void Softmax(Span<float> x)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, x);
        TensorPrimitives.Exp(x, x);
        float sum = TensorPrimitives.Sum(x);
        TensorPrimitives.Multiply(x, 1f / sum, x);
    }

    /// <summary>log-softmax into output.</summary>
    public static void LogSoftmax(ReadOnlySpan<float> x, Span<float> output)
    {
        float max = TensorPrimitives.Max(x);
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += MathF.Exp(x[i] - max);
        float lse = max + (float)Math.Log(sum);
        TensorPrimitives.Subtract(x, lse, output);
    }

    /// <summary>
    /// log Σ e^x given the row's maximum <paramref name="max"/> (max + log Σ e^(x − max)), reading the row once and
    /// writing nothing. Every element goes through the same vector exp (a short tail is padded with −∞, which adds
    /// exactly 0); −∞ elements add 0; a row whose maximum is −∞ gives −∞. Four accumulators keep the FMA pipes busy.
    /// Fully optimized from the first call: a draft step runs it on tens of thousands of logits per row, and tier-0
    /// code (TensorPrimitives' generic vector code before the JIT recompiles it) is tens of times slower.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float LogSumExp(ReadOnlySpan<float> x, float max)
    {
        if (float.IsNegativeInfinity(max)) return float.NegativeInfinity;
        ref float first = ref MemoryMarshal.GetReference(x);
        var m = Vector256.Create(max);
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
        int i = 0, w = Vector256<float>.Count;
        for (; i + 4 * w <= x.Length; i += 4 * w)
        {
            s0 += VectorExp.Exp8(Vector256.LoadUnsafe(ref first, (nuint)i) - m);
            s1 += VectorExp.Exp8(Vector256.LoadUnsafe(ref first, (nuint)(i + w)) - m);
            s2 += VectorExp.Exp8(Vector256.LoadUnsafe(ref first, (nuint)(i + 2 * w)) - m);
            s3 += VectorExp.Exp8(Vector256.LoadUnsafe(ref first, (nuint)(i + 3 * w)) - m);
        }
        for (; i + w <= x.Length; i += w) s0 += VectorExp.Exp8(Vector256.LoadUnsafe(ref first, (nuint)i) - m);
        if (i < x.Length)
        {
            Span<float> tail = stackalloc float[8];
            tail.Fill(float.NegativeInfinity);
            x[i..].CopyTo(tail);
            s1 += VectorExp.Exp8(Vector256.Create((ReadOnlySpan<float>)tail) - m);
        }
        return max + MathF.Log(Vector256.Sum((s0 + s1) + (s2 + s3)));
    }

    /// <summary>
    /// output = e^(scale·x − m), m the maximum of scale·x: softmax numerators at temperature 1/scale (the largest is exactly
    /// 1). Two reads of the row through the project's vector exp, fully optimized from the first call (a sampler scores a
    /// whole vocabulary per token; tier-0 TensorPrimitives.Exp was ten times slower in short runs). scale·x and the
    /// subtraction are single IEEE operations, as TensorPrimitives.Multiply and Subtract compute them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ScaledExp(ReadOnlySpan<float> x, float scale, Span<float> output)
    {
        if (output.Length < x.Length) throw new ArgumentException("output shorter than x");
        int n = x.Length, w = Vector256<float>.Count, i = 0;
        if (n == 0) return;
        ref float src = ref MemoryMarshal.GetReference(x);
        ref float dst = ref MemoryMarshal.GetReference(output);
        var s = Vector256.Create(scale);
        var m = Vector256.Create(float.NegativeInfinity);
        for (; i + w <= n; i += w)
        {
            var y = Vector256.LoadUnsafe(ref src, (nuint)i) * s;
            y.StoreUnsafe(ref dst, (nuint)i);
            m = Vector256.Max(m, y);
        }
        float max = float.NegativeInfinity;
        for (int l = 0; l < w; l++) max = MathF.Max(max, m.GetElement(l));
        for (; i < n; i++) { output[i] = x[i] * scale; max = MathF.Max(max, output[i]); }
        VectorExp.Exp(output[..n], max);
    }

    public static int ArgMax(ReadOnlySpan<float> x) => TensorPrimitives.IndexOfMax(x);
}
