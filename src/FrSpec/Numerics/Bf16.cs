using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FrSpec.Numerics;

/// <summary>bfloat16 is the upper half of an IEEE float; conversion rounds to nearest even.</summary>
public static class Bf16
{
    public static float ToFloat(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] // inlined into fully optimized callers (attention, the KV cache) from their first call
    public static ushort FromFloat(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if ((u & 0x7FFFFFFF) > 0x7F800000) return (ushort)((u >> 16) | 0x40); // keep NaN a NaN
        uint rounding = 0x7FFF + ((u >> 16) & 1);
        return (ushort)((u + rounding) >> 16);
    }

    /// <summary>Rounds each float to bf16 bits exactly as <see cref="FromFloat"/> does (the fast precision's activations).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FromFloats(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination shorter than source");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var abs = Vector256.Create(0x7FFFFFFFu);
            var inf = Vector256.Create(0x7F800000u);
            for (; i + 16 <= src.Length; i += 16)
            {
                var lo = Round(Vector256.Create(src.Slice(i, 8)).AsUInt32(), abs, inf);
                var hi = Round(Vector256.Create(src.Slice(i + 8, 8)).AsUInt32(), abs, inf);
                Vector256.Narrow(lo, hi).CopyTo(dst.Slice(i, 16)); // values are < 2^16: narrowing keeps them
            }
        }
        for (; i < src.Length; i++) dst[i] = FromFloat(src[i]);
    }

    private static Vector256<uint> Round(Vector256<uint> u, Vector256<uint> abs, Vector256<uint> inf)
    {
        var rounded = (u + Vector256.Create(0x7FFFu) + ((u >> 16) & Vector256<uint>.One)) >> 16;
        var nan = Vector256.GreaterThan(u & abs, inf);
        return Vector256.ConditionalSelect(nan, (u >> 16) | Vector256.Create(0x40u), rounded);
    }

    /// <summary>dst = src rounded to bf16 and widened back to float (activations of the fast precision on kernels that
    /// compute in fp32).</summary>
    public static void Round(ReadOnlySpan<float> src, Span<float> dst)
    {
        for (int i = 0; i < src.Length; i++) dst[i] = ToFloat(FromFloat(src[i]));
    }
}
