using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FrSpec.Numerics.Quantized;

/// <summary>
/// Widening 16 unsigned byte codes to 16 floats, with the same operation order as the scalar decoders (integer offset,
/// then one multiply; or one multiply, then one subtract), so the vectorised decoders match them bit for bit.
/// </summary>
internal static unsafe class Lanes
{
    /// <summary>y[i] = (float)(code[i] − offset)·scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreOffset(Vector128<byte> codes, Vector128<int> offset, Vector128<float> scale, float* y)
    {
        var (h0, h1) = Vector128.Widen(codes);
        var (a, b) = Vector128.Widen(h0);
        var (c, d) = Vector128.Widen(h1);
        Vector128.Store(Vector128.ConvertToSingle(a.AsInt32() - offset) * scale, y);
        Vector128.Store(Vector128.ConvertToSingle(b.AsInt32() - offset) * scale, y + 4);
        Vector128.Store(Vector128.ConvertToSingle(c.AsInt32() - offset) * scale, y + 8);
        Vector128.Store(Vector128.ConvertToSingle(d.AsInt32() - offset) * scale, y + 12);
    }

    /// <summary>y[i] = scale·(float)code[i] − min.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreAffine(Vector128<byte> codes, Vector128<float> scale, Vector128<float> min, float* y)
    {
        var (h0, h1) = Vector128.Widen(codes);
        var (a, b) = Vector128.Widen(h0);
        var (c, d) = Vector128.Widen(h1);
        Vector128.Store(scale * Vector128.ConvertToSingle(a.AsInt32()) - min, y);
        Vector128.Store(scale * Vector128.ConvertToSingle(b.AsInt32()) - min, y + 4);
        Vector128.Store(scale * Vector128.ConvertToSingle(c.AsInt32()) - min, y + 8);
        Vector128.Store(scale * Vector128.ConvertToSingle(d.AsInt32()) - min, y + 12);
    }
}
