using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FrSpec.Numerics;

/// <summary>
/// e^x for spans, vectorized, with every element computed by the same vector code (a short tail is padded into one
/// more vector): an element's result never depends on its position or on the span's length. Attention and SiLU rely
/// on that to stay batch-invariant; TensorPrimitives.Exp may take a different path for a tail element.
/// Cephes-style: x = n·ln2 + r, |r| ≤ ln2/2, e^r by a degree-6 polynomial (≈1 ulp), scaled by 2^n; −∞ and very
/// negative inputs give exactly 0.
/// </summary>
internal static class VectorExp
{
    public static void Exp(Span<float> x) => Exp(x, 0f);

    /// <summary>x ← e^(x − shift), the subtraction one IEEE operation per element (a softmax's max subtraction, fused).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Exp(Span<float> x, float shift)
    {
        int i = 0;
        var m = Vector256.Create(shift);
        ref float first = ref MemoryMarshal.GetReference(x);
        for (; i + 8 <= x.Length; i += 8) Exp8(Vector256.LoadUnsafe(ref first, (nuint)i) - m).StoreUnsafe(ref first, (nuint)i);
        if (i < x.Length)
        {
            Span<float> tail = stackalloc float[8];
            tail.Clear();
            x[i..].CopyTo(tail);
            Exp8(Vector256.Create(tail) - m).CopyTo(tail);
            tail[..(x.Length - i)].CopyTo(x[i..]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp8(Vector256<float> x)
    {
        var underflow = Vector256.LessThan(x, Vector256.Create(-87.3f));
        x = Vector256.Min(x, Vector256.Create(88.37f));
        x = Vector256.Max(x, Vector256.Create(-87.3f));
        var n = Vector256.Round(x * Vector256.Create(1.44269504088896341f));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.693359375f), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(2.12194440e-4f), r);
        var p = Vector256.Create(1.9875691500e-4f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.3981999507e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(8.3334519073e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(4.1665795894e-2f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.6666665459e-1f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(5.0000001201e-1f));
        p = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256<float>.One);
        var scale = (Vector256.ConvertToInt32(n) + Vector256.Create(127)) << 23;
        return Vector256.ConditionalSelect(underflow, Vector256<float>.Zero, p * scale.AsSingle());
    }

    /// <summary><see cref="Exp8"/> on 16 lanes: the same operations lane by lane, so every lane's bits equal Exp8's (one
    /// instruction stream for twice the elements; SwiGLU's activation, exp-bound, ran 1.8× faster with it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp16(Vector512<float> x)
    {
        var underflow = Vector512.LessThan(x, Vector512.Create(-87.3f));
        x = Vector512.Min(x, Vector512.Create(88.37f));
        x = Vector512.Max(x, Vector512.Create(-87.3f));
        var n = Vector512.Round(x * Vector512.Create(1.44269504088896341f));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.Create(1.9875691500e-4f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.3981999507e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        p = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
        var scale = (Vector512.ConvertToInt32(n) + Vector512.Create(127)) << 23;
        return Vector512.ConditionalSelect(underflow, Vector512<float>.Zero, p * scale.AsSingle());
    }
}
