using System.Runtime.CompilerServices;

namespace FrSpec.Numerics;

/// <summary>
/// Managed kernels of <see cref="MatMul"/> for row-major bf16 weights against f32 activations, widening the weights in
/// registers: a vector of 2·Count bf16 values loaded as Count 32-bit lanes holds element 2j in the low half and 2j + 1
/// in the high half of lane j, so (v &lt;&lt; 16) is the even elements as floats and (v &amp; 0xFFFF0000) the odd ones.
/// The activations are permuted once per call to match (within each block of 2·Count, evens first), so the kernels
/// need no shuffles. Written once over the vector width (<see cref="ISimdLanes{TVec}"/>).
///
/// Register blocking: 4 weight rows × 3 activation rows, 12 accumulators; each step widens 4 weight vectors into 8
/// (even and odd) and reuses them for 3 activation rows. Every accumulator, in every kernel here, adds
/// fma(odd, x_odd, fma(even, x_even, acc)) block after block, then its lane sum, then the unpermuted tail in natural
/// order, so the 4×3, 4×1 and 1×1 kernels give the same bits for the same (row, activation) pair (batch invariance).
/// </summary>
internal static unsafe class ManagedBf16Kernels
{
    /// <summary>d[4a + k] = x_a · w_k for 3 consecutive permuted activation rows (stride <paramref name="cols"/>), 4 rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4x3<TL, TV>(ushort* w0, ushort* w1, ushort* w2, ushort* w3, float* x, int cols, float* d)
        where TL : ISimdLanes<TV> where TV : struct
    {
        float* x0 = x, x1 = x + cols, x2 = x + 2 * cols;
        TV a00 = TL.Zero, a01 = TL.Zero, a02 = TL.Zero, a03 = TL.Zero;
        TV a10 = TL.Zero, a11 = TL.Zero, a12 = TL.Zero, a13 = TL.Zero;
        TV a20 = TL.Zero, a21 = TL.Zero, a22 = TL.Zero, a23 = TL.Zero;
        int c = 0, n = TL.Count, block = 2 * n;
        for (; c + block <= cols; c += block)
        {
            var o0 = TL.WidenBf16Pairs(w0 + c, out var e0); var o1 = TL.WidenBf16Pairs(w1 + c, out var e1);
            var o2 = TL.WidenBf16Pairs(w2 + c, out var e2); var o3 = TL.WidenBf16Pairs(w3 + c, out var e3);
            var xe = TL.Load(x0 + c); var xo = TL.Load(x0 + c + n);
            a00 = TL.Fma(o0, xo, TL.Fma(e0, xe, a00)); a01 = TL.Fma(o1, xo, TL.Fma(e1, xe, a01));
            a02 = TL.Fma(o2, xo, TL.Fma(e2, xe, a02)); a03 = TL.Fma(o3, xo, TL.Fma(e3, xe, a03));
            xe = TL.Load(x1 + c); xo = TL.Load(x1 + c + n);
            a10 = TL.Fma(o0, xo, TL.Fma(e0, xe, a10)); a11 = TL.Fma(o1, xo, TL.Fma(e1, xe, a11));
            a12 = TL.Fma(o2, xo, TL.Fma(e2, xe, a12)); a13 = TL.Fma(o3, xo, TL.Fma(e3, xe, a13));
            xe = TL.Load(x2 + c); xo = TL.Load(x2 + c + n);
            a20 = TL.Fma(o0, xo, TL.Fma(e0, xe, a20)); a21 = TL.Fma(o1, xo, TL.Fma(e1, xe, a21));
            a22 = TL.Fma(o2, xo, TL.Fma(e2, xe, a22)); a23 = TL.Fma(o3, xo, TL.Fma(e3, xe, a23));
        }
        d[0] = TL.Sum(a00); d[1] = TL.Sum(a01); d[2] = TL.Sum(a02); d[3] = TL.Sum(a03);
        d[4] = TL.Sum(a10); d[5] = TL.Sum(a11); d[6] = TL.Sum(a12); d[7] = TL.Sum(a13);
        d[8] = TL.Sum(a20); d[9] = TL.Sum(a21); d[10] = TL.Sum(a22); d[11] = TL.Sum(a23);
        for (int r = 0; r < 3; r++) Tail(w0, w1, w2, w3, x + r * cols, c, cols, d + 4 * r);
    }

    /// <summary>4 weight rows × 1 permuted activation row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4x1<TL, TV>(ushort* w0, ushort* w1, ushort* w2, ushort* w3, float* x, int cols, float* d)
        where TL : ISimdLanes<TV> where TV : struct
    {
        TV a0 = TL.Zero, a1 = TL.Zero, a2 = TL.Zero, a3 = TL.Zero;
        int c = 0, n = TL.Count, block = 2 * n;
        for (; c + block <= cols; c += block)
        {
            var xe = TL.Load(x + c); var xo = TL.Load(x + c + n);
            var o0 = TL.WidenBf16Pairs(w0 + c, out var e0); a0 = TL.Fma(o0, xo, TL.Fma(e0, xe, a0));
            var o1 = TL.WidenBf16Pairs(w1 + c, out var e1); a1 = TL.Fma(o1, xo, TL.Fma(e1, xe, a1));
            var o2 = TL.WidenBf16Pairs(w2 + c, out var e2); a2 = TL.Fma(o2, xo, TL.Fma(e2, xe, a2));
            var o3 = TL.WidenBf16Pairs(w3 + c, out var e3); a3 = TL.Fma(o3, xo, TL.Fma(e3, xe, a3));
        }
        d[0] = TL.Sum(a0); d[1] = TL.Sum(a1); d[2] = TL.Sum(a2); d[3] = TL.Sum(a3);
        Tail(w0, w1, w2, w3, x, c, cols, d);
    }

    /// <summary>One weight row × one permuted activation row (AVX-512 decoding reads rows one after another: one stream;
    /// AVX2 decoding's last rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot1x1<TL, TV>(ushort* w0, float* x, int cols, float* d)
        where TL : ISimdLanes<TV> where TV : struct
    {
        TV a0 = TL.Zero;
        int c = 0, n = TL.Count, block = 2 * n;
        for (; c + block <= cols; c += block)
        {
            var o0 = TL.WidenBf16Pairs(w0 + c, out var e0);
            a0 = TL.Fma(o0, TL.Load(x + c + n), TL.Fma(e0, TL.Load(x + c), a0));
        }
        d[0] = TL.Sum(a0);
        for (; c < cols; c++) d[0] += x[c] * Bf16.ToFloat(w0[c]);
    }

    /// <summary>Columns after the last full block (not permuted), in natural order.</summary>
    private static void Tail(ushort* w0, ushort* w1, ushort* w2, ushort* w3, float* x, int c, int cols, float* d)
    {
        for (; c < cols; c++)
        {
            float xv = x[c];
            d[0] += xv * Bf16.ToFloat(w0[c]); d[1] += xv * Bf16.ToFloat(w1[c]); d[2] += xv * Bf16.ToFloat(w2[c]); d[3] += xv * Bf16.ToFloat(w3[c]);
        }
    }
}
