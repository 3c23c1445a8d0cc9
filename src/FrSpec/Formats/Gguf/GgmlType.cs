using FrSpec.Numerics;

namespace FrSpec.Formats.Gguf;

/// <summary>The ggml tensor element types this writer emits (ggml.h's ggml_type numbering).</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    BF16 = 30,
}

public static class GgmlTypeInfo
{
    public static GgmlType From(DType t) => t switch
    {
        DType.F32 => GgmlType.F32,
        DType.F16 => GgmlType.F16,
        DType.BF16 => GgmlType.BF16,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    public static int SizeOf(GgmlType t) => t == GgmlType.F32 ? 4 : 2;
}
