using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FrSpec.Numerics;

/// <summary>
/// The float-vector operations the managed kernels use, over one vector width. Kernels are written once as generic
/// methods <c>Kernel&lt;TLanes, TVec&gt;</c> and called with <see cref="Lanes256"/> (AVX2) or <see cref="Lanes512"/>
/// (AVX-512); the JIT compiles a separate copy per width (struct type arguments are specialised) and inlines these
/// static members, so the generic code compiles to the same instructions as hand-written Vector256/Vector512 code.
/// (.NET's own ISimdVector, which TensorPrimitives uses this way, is not public in .NET 10.)
/// </summary>
internal unsafe interface ISimdLanes<TVec> where TVec : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }
    static abstract TVec Zero { get; }
    static abstract TVec Load(float* p);
    static abstract void Store(TVec v, float* p);
    static abstract TVec Broadcast(float value);
    /// <summary>a·b + c with one rounding.</summary>
    static abstract TVec Fma(TVec a, TVec b, TVec c);
    static abstract TVec Multiply(TVec a, TVec b);
    /// <summary>Sum of the lanes (the width's fixed reduction order).</summary>
    static abstract float Sum(TVec v);
    /// <summary>Widens 2·Count bf16 values: lane j of <paramref name="even"/> is element 2j, of the result's odd half
    /// element 2j + 1 (one 32-bit load: a shift and a mask, no shuffles).</summary>
    static abstract TVec WidenBf16Pairs(ushort* p, out TVec even);
    /// <summary>Count finite f16 values widened to floats, exactly. .NET 10 exposes no F16C conversion, so: sign-extended
    /// to 32 bits and shifted left 13, a half has its sign in bit 31 and exponent and mantissa in bits 27..13, i.e. it is
    /// a float with exponent bias 15 − 127, and a product with 2^112 rebiases it exactly (a subnormal half is a subnormal
    /// float there, normalised by the product). An infinity or NaN comes out finite, which saves the kernels four
    /// instructions per vector (27% of f16 decode's time on Zen 3): callers check <see cref="WeightMatrix.F16IsFinite"/>.
    /// The full-range conversion, for a few scales per block, is <see cref="Quantized.Avx2Int8Kernel.Halves"/>.</summary>
    static abstract TVec WidenF16(ushort* p);
    static abstract TVec Add(TVec a, TVec b);
    static abstract TVec Subtract(TVec a, TVec b);
    /// <summary>Lane-wise IEEE 754:2019 maximum: NaN if either is NaN, +0 above −0.</summary>
    static abstract TVec Max(TVec a, TVec b);
    /// <summary>max(min(x, high), low).</summary>
    static abstract TVec Clamp(TVec x, float low, float high);
    /// <summary>Round to nearest, ties to even.</summary>
    static abstract TVec Round(TVec x);
    /// <summary>2^n for integral lanes n in [−127, 128] (the exponent field built directly).</summary>
    static abstract TVec Pow2(TVec n);
    /// <summary>value where x ≥ limit (or x is NaN), 0 where x &lt; limit.</summary>
    static abstract TVec ZeroBelow(TVec value, TVec x, float limit);
}

/// <summary>8 float lanes (AVX2 + FMA).</summary>
internal readonly unsafe struct Lanes256 : ISimdLanes<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> v) => Vector256.Sum(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> WidenBf16Pairs(ushort* p, out Vector256<float> even)
    {
        var v = Vector256.Load((uint*)p);
        even = (v << 16).AsSingle();
        return (v & Vector256.Create(0xFFFF0000u)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> WidenF16(ushort* p)
    {
        var bits = (Avx2.ConvertToVector256Int32((short*)p) << 13) & Vector256.Create(unchecked((int)0x8FFFE000));
        return bits.AsSingle() * Vector256.Create((127 + 112) << 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Clamp(Vector256<float> x, float low, float high) => Vector256.Max(Vector256.Min(x, Vector256.Create(high)), Vector256.Create(low));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Round(Vector256<float> x) => Vector256.Round(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Pow2(Vector256<float> n) => ((Vector256.ConvertToInt32(n) + Vector256.Create(127)) << 23).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ZeroBelow(Vector256<float> value, Vector256<float> x, float limit) =>
        Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(limit)), Vector256<float>.Zero, value);
}

/// <summary>16 float lanes (AVX-512F).</summary>
internal readonly unsafe struct Lanes512 : ISimdLanes<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> v) => Vector512.Sum(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> WidenBf16Pairs(ushort* p, out Vector512<float> even)
    {
        var v = Vector512.Load((uint*)p);
        even = (v << 16).AsSingle();
        return (v & Vector512.Create(0xFFFF0000u)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> WidenF16(ushort* p)
    {
        var bits = (Avx512F.ConvertToVector512Int32(Vector256.Load((short*)p)) << 13) & Vector512.Create(unchecked((int)0x8FFFE000));
        return bits.AsSingle() * Vector512.Create((127 + 112) << 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Clamp(Vector512<float> x, float low, float high) => Vector512.Max(Vector512.Min(x, Vector512.Create(high)), Vector512.Create(low));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Round(Vector512<float> x) => Vector512.Round(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Pow2(Vector512<float> n) => ((Vector512.ConvertToInt32(n) + Vector512.Create(127)) << 23).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ZeroBelow(Vector512<float> value, Vector512<float> x, float limit) =>
        Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(limit)), Vector512<float>.Zero, value);
}
