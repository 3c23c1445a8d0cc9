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
            for (; i + 16 <= src.Length; i += 16)
            {
                var lo = RoundBits(Vector256.Create(src.Slice(i, 8)).AsUInt32());
                var hi = RoundBits(Vector256.Create(src.Slice(i + 8, 8)).AsUInt32());
                Vector256.Narrow(lo, hi).CopyTo(dst.Slice(i, 16)); // values are < 2^16: narrowing keeps them
            }
        for (; i < src.Length; i++) dst[i] = FromFloat(src[i]);
    }

    /// <summary>dst[i] = bf16(src[i]·factor) for i &lt; n: one IEEE product, then <see cref="FromFloat"/>'s rounding, on
    /// 16 lanes, then 8, where the machine has them, the rest through FromFloat itself (attention's queries and
    /// probabilities, the bf16 KV cache's stores). Nothing is written at or past dst + n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void FromScaledFloats(float* src, float factor, ushort* dst, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var f = Vector512.Create(factor);
            for (; i + 16 <= n; i += 16)
            {
                var bits = RoundBits((Vector512.Load(src + i) * f).AsUInt32());
                Vector512.Narrow(bits, bits).GetLower().Store(dst + i); // values are < 2^16: narrowing keeps them
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var f = Vector256.Create(factor);
            for (; i + 8 <= n; i += 8)
            {
                var bits = RoundBits((Vector256.Load(src + i) * f).AsUInt32());
                Vector256.Narrow(bits, bits).GetLower().Store(dst + i);
            }
        }
        for (; i < n; i++) dst[i] = FromFloat(src[i] * factor);
    }

    /// <summary><see cref="FromFloat"/> on 8 lanes of float bits: the bf16 bits in each lane's low half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> RoundBits(Vector256<uint> u)
    {
        var rounded = (u + Vector256.Create(0x7FFFu) + ((u >> 16) & Vector256<uint>.One)) >> 16;
        var nan = Vector256.GreaterThan(u & Vector256.Create(0x7FFFFFFFu), Vector256.Create(0x7F800000u));
        return Vector256.ConditionalSelect(nan, (u >> 16) | Vector256.Create(0x40u), rounded);
    }

    /// <summary><see cref="FromFloat"/> on 16 lanes of float bits: the bf16 bits in each lane's low half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> RoundBits(Vector512<uint> u)
    {
        var rounded = (u + Vector512.Create(0x7FFFu) + ((u >> 16) & Vector512<uint>.One)) >> 16;
        var nan = Vector512.GreaterThan(u & Vector512.Create(0x7FFFFFFFu), Vector512.Create(0x7F800000u));
        return Vector512.ConditionalSelect(nan, (u >> 16) | Vector512.Create(0x40u), rounded);
    }

    /// <summary>dst = src rounded to bf16 and widened back to float (activations of the fast precision on kernels that
    /// compute in fp32): ToFloat(FromFloat(x)) element by element, 8 lanes at a time where the machine has vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Round(ReadOnlySpan<float> src, Span<float> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination shorter than source");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= src.Length; i += 8)
                (RoundBits(Vector256.Create(src.Slice(i, 8)).AsUInt32()) << 16).AsSingle().CopyTo(dst.Slice(i, 8));
        for (; i < src.Length; i++) dst[i] = ToFloat(FromFloat(src[i]));
    }
}
