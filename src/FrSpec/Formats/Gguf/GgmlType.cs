using FrSpec.Numerics;

namespace FrSpec.Formats.Gguf;

/// <summary>ggml tensor element types FrSpec reads and writes (ggml.h's ggml_type numbering).</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    /// <summary>Read only: computed as Q8_0 (<see cref="Numerics.Quantized.Q5_0"/>).</summary>
    Q5_0 = 6,
    Q8_0 = 8,
    Q4_K = 12,
    Q6_K = 14,
    BF16 = 30,
}

public static class GgmlTypeInfo
{
    /// <summary>ggml types and the engine types with the same layout.</summary>
    private static readonly (GgmlType Ggml, DType Engine)[] Pairs =
    [
        (GgmlType.F32, DType.F32), (GgmlType.F16, DType.F16), (GgmlType.BF16, DType.BF16), (GgmlType.Q8_0, DType.Q8_0),
        (GgmlType.Q4_0, DType.Q4_0), (GgmlType.Q4_K, DType.Q4_K), (GgmlType.Q6_K, DType.Q6_K),
    ];

    public static GgmlType From(DType t)
    {
        foreach (var (ggml, engine) in Pairs) if (engine == t) return ggml;
        throw new ArgumentOutOfRangeException(nameof(t));
    }

    /// <summary>The engine's weight type for a ggml type: the same block layout, except Q5_0, which is widened into
    /// Q8_0 at load (exactly: <see cref="Numerics.Quantized.Q5_0"/>).</summary>
    public static DType ToDType(GgmlType t)
    {
        if (t == GgmlType.Q5_0) return DType.Q8_0;
        foreach (var (ggml, engine) in Pairs) if (ggml == t) return engine;
        throw new ArgumentOutOfRangeException(nameof(t));
    }

    /// <summary>Weights per block in the file (1 for the float types).</summary>
    public static int BlockSize(GgmlType t) => t == GgmlType.Q5_0 ? Numerics.Quantized.Q5_0.BlockSize : DTypeInfo.BlockSize(ToDType(t));

    /// <summary>Bytes per block in the file (the element size for the float types).</summary>
    public static int BlockBytes(GgmlType t) => t == GgmlType.Q5_0 ? Numerics.Quantized.Q5_0.BlockBytes : DTypeInfo.BlockBytes(ToDType(t));

    /// <summary>Bytes of one row of <paramref name="cols"/> weights in the file; a quantized row must hold whole blocks.</summary>
    public static long RowBytes(GgmlType t, long cols)
    {
        int block = BlockSize(t);
        if (cols % block != 0) throw new FrSpecException($"a row of {cols} {t} weights is not a whole number of {block}-weight blocks");
        return cols / block * BlockBytes(t);
    }

    /// <summary>Element size of a float type (the writer's F32/F16/BF16); block-quantized types have none.</summary>
    public static int SizeOf(GgmlType t) => t switch
    {
        GgmlType.F32 => 4,
        GgmlType.F16 or GgmlType.BF16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(t), $"{t} is block-quantized: it has no per-element size"),
    };

    /// <summary>Bytes of a tensor of <paramref name="shape"/> (outermost first): rows of whole blocks.</summary>
    public static long ByteCount(GgmlType t, IReadOnlyList<long> shape)
    {
        long rows = 1;
        for (int i = 0; i < shape.Count - 1; i++) rows *= shape[i];
        return rows * RowBytes(t, shape[^1]);
    }

    /// <summary>True for the ggml type ids FrSpec can load.</summary>
    public static bool IsSupported(uint id) => Enum.IsDefined(typeof(GgmlType), id);

    /// <summary>ggml's name of a type id ("Q5_K", "IQ4_XS", …), or "unknown" for ids ggml does not define, for error messages.</summary>
    public static string Name(uint id) => id switch
    {
        0 => "F32", 1 => "F16", 2 => "Q4_0", 3 => "Q4_1", 6 => "Q5_0", 7 => "Q5_1", 8 => "Q8_0", 9 => "Q8_1",
        10 => "Q2_K", 11 => "Q3_K", 12 => "Q4_K", 13 => "Q5_K", 14 => "Q6_K", 15 => "Q8_K",
        16 => "IQ2_XXS", 17 => "IQ2_XS", 18 => "IQ3_XXS", 19 => "IQ1_S", 20 => "IQ4_NL", 21 => "IQ3_S", 22 => "IQ2_S",
        23 => "IQ4_XS", 24 => "I8", 25 => "I16", 26 => "I32", 27 => "I64", 28 => "F64", 29 => "IQ1_M", 30 => "BF16",
        34 => "TQ1_0", 35 => "TQ2_0", 39 => "MXFP4",
        _ => "unknown",
    };
}
