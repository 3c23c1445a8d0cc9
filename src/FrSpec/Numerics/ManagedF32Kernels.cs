using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FrSpec.Numerics;

/// <summary>
/// Managed fp32 dot-product kernels of <see cref="MatMul"/>: f32 activations against f32 or f16 weight rows read in
/// place (<see cref="IFloatRow"/>; packed bf16 and other weights are widened into f32 rows first). Written once over the
/// vector width (<see cref="ISimdLanes{TVec}"/>).
///
/// Register blocking: 4 weight rows × 3 activation rows hold 12 accumulators; each step loads 4 weight vectors and 3
/// activation vectors for 12 FMAs, so every weight vector is reused 3 times from a register. Every accumulator, in
/// both kernels, adds fma(x, w, acc) vector after vector, then its lane sum, then the tail in natural order, so the
/// 4×3 and 4×1 kernels give the same bits for the same (row, activation) pair whatever the batch (batch invariance).
/// </summary>
internal static unsafe class ManagedF32Kernels
{
    /// <summary>d[4a + k] = x_a · w_k for a &lt; 3 (x rows <paramref name="xStride"/> apart), k &lt; 4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4x3<TL, TV, TR>(float* x, int xStride, void* w0, void* w1, void* w2, void* w3, int cols, float* d)
        where TL : ISimdLanes<TV> where TV : struct where TR : IFloatRow
    {
        float* x0 = x, x1 = x + xStride, x2 = x + 2 * xStride;
        TV a00 = TL.Zero, a01 = TL.Zero, a02 = TL.Zero, a03 = TL.Zero;
        TV a10 = TL.Zero, a11 = TL.Zero, a12 = TL.Zero, a13 = TL.Zero;
        TV a20 = TL.Zero, a21 = TL.Zero, a22 = TL.Zero, a23 = TL.Zero;
        int c = 0, step = TL.Count;
        for (; c + step <= cols; c += step)
        {
            var v0 = TR.Load<TL, TV>(w0, c); var v1 = TR.Load<TL, TV>(w1, c); var v2 = TR.Load<TL, TV>(w2, c); var v3 = TR.Load<TL, TV>(w3, c);
            var xa = TL.Load(x0 + c);
            a00 = TL.Fma(xa, v0, a00); a01 = TL.Fma(xa, v1, a01); a02 = TL.Fma(xa, v2, a02); a03 = TL.Fma(xa, v3, a03);
            var xb = TL.Load(x1 + c);
            a10 = TL.Fma(xb, v0, a10); a11 = TL.Fma(xb, v1, a11); a12 = TL.Fma(xb, v2, a12); a13 = TL.Fma(xb, v3, a13);
            var xc = TL.Load(x2 + c);
            a20 = TL.Fma(xc, v0, a20); a21 = TL.Fma(xc, v1, a21); a22 = TL.Fma(xc, v2, a22); a23 = TL.Fma(xc, v3, a23);
        }
        d[0] = TL.Sum(a00); d[1] = TL.Sum(a01); d[2] = TL.Sum(a02); d[3] = TL.Sum(a03);
        d[4] = TL.Sum(a10); d[5] = TL.Sum(a11); d[6] = TL.Sum(a12); d[7] = TL.Sum(a13);
        d[8] = TL.Sum(a20); d[9] = TL.Sum(a21); d[10] = TL.Sum(a22); d[11] = TL.Sum(a23);
        for (; c < cols; c++)
        {
            float p = TR.At(w0, c), q = TR.At(w1, c), r = TR.At(w2, c), s = TR.At(w3, c);
            d[0] += x0[c] * p; d[1] += x0[c] * q; d[2] += x0[c] * r; d[3] += x0[c] * s;
            d[4] += x1[c] * p; d[5] += x1[c] * q; d[6] += x1[c] * r; d[7] += x1[c] * s;
            d[8] += x2[c] * p; d[9] += x2[c] * q; d[10] += x2[c] * r; d[11] += x2[c] * s;
        }
    }

    /// <summary>d[k] = x · w_k for k &lt; 4: one activation row (decode, a batch's last rows), four independent chains.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot4x1<TL, TV, TR>(float* x, void* w0, void* w1, void* w2, void* w3, int cols, float* d)
        where TL : ISimdLanes<TV> where TV : struct where TR : IFloatRow
    {
        TV a0 = TL.Zero, a1 = TL.Zero, a2 = TL.Zero, a3 = TL.Zero;
        int c = 0, step = TL.Count;
        for (; c + step <= cols; c += step)
        {
            var xa = TL.Load(x + c);
            a0 = TL.Fma(xa, TR.Load<TL, TV>(w0, c), a0); a1 = TL.Fma(xa, TR.Load<TL, TV>(w1, c), a1);
            a2 = TL.Fma(xa, TR.Load<TL, TV>(w2, c), a2); a3 = TL.Fma(xa, TR.Load<TL, TV>(w3, c), a3);
        }
        d[0] = TL.Sum(a0); d[1] = TL.Sum(a1); d[2] = TL.Sum(a2); d[3] = TL.Sum(a3);
        for (; c < cols; c++)
        {
            float xv = x[c];
            d[0] += xv * TR.At(w0, c); d[1] += xv * TR.At(w1, c); d[2] += xv * TR.At(w2, c); d[3] += xv * TR.At(w3, c);
        }
    }

    /// <summary>Portable: four dot products of x with four f32 rows (Vector128 where accelerated, scalar tail).</summary>
    public static void Dot4(float* x, float* w0, float* w1, float* w2, float* w3, int cols, float* d)
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
}
