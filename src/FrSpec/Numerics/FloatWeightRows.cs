using System.Runtime.CompilerServices;

namespace FrSpec.Numerics;

/// <summary>
/// How the float-weight kernels (<see cref="ManagedF32Kernels"/>) read a row-major weight row: f32 as stored, f16 widened
/// to f32 in registers (exactly, <see cref="ISimdLanes{TVec}.WidenF16"/>). Both run the same kernels, so a product with
/// f16 weights gives the bits of converting the rows to f32 first and multiplying those, without the copy.
/// </summary>
internal unsafe interface IFloatRow
{
    /// <summary>Elements c .. c + Count − 1 of the row as floats.</summary>
    static abstract TV Load<TL, TV>(void* row, int c) where TL : ISimdLanes<TV> where TV : struct;
    /// <summary>Element c of the row as a float.</summary>
    static abstract float At(void* row, int c);
}

/// <summary>f32 weights.</summary>
internal readonly unsafe struct F32Row : IFloatRow
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TL, TV>(void* row, int c) where TL : ISimdLanes<TV> where TV : struct => TL.Load((float*)row + c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float At(void* row, int c) => ((float*)row)[c];
}

/// <summary>f16 weights.</summary>
internal readonly unsafe struct F16Row : IFloatRow
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TL, TV>(void* row, int c) where TL : ISimdLanes<TV> where TV : struct => TL.WidenF16((ushort*)row + c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float At(void* row, int c) => (float)((Half*)row)[c];
}
