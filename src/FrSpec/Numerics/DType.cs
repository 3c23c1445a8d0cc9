namespace FrSpec.Numerics;

/// <summary>
/// Element types of weight tensors the engine computes with: plain floats, and ggml's block-quantized types, whose
/// rows are sequences of fixed-size blocks (a scale or two, then packed integers), byte-identical to GGUF files.
/// </summary>
public enum DType
{
    F32,
    F16,
    BF16,
    /// <summary>Blocks of 32 weights: f16 scale d, 32 signed bytes q; w = d·q (34 bytes).</summary>
    Q8_0,
    /// <summary>Blocks of 32 weights: f16 scale d, 16 bytes of 4-bit q; w = d·(q − 8) (18 bytes).</summary>
    Q4_0,
    /// <summary>Super-blocks of 256 weights in 8 sub-blocks with 6-bit scales and mins, 4-bit q (144 bytes).</summary>
    Q4_K,
    /// <summary>Super-blocks of 256 weights in 16 sub-blocks with 8-bit scales, 6-bit q (210 bytes).</summary>
    Q6_K,
}

public static class DTypeInfo
{
    /// <summary>Weights per block (1 for the float types).</summary>
    public static int BlockSize(DType t) => t switch
    {
        DType.F32 or DType.F16 or DType.BF16 => 1,
        DType.Q8_0 or DType.Q4_0 => 32,
        DType.Q4_K or DType.Q6_K => 256,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>Bytes per block (the element size for the float types).</summary>
    public static int BlockBytes(DType t) => t switch
    {
        DType.F32 => 4,
        DType.F16 or DType.BF16 => 2,
        DType.Q8_0 => 34,
        DType.Q4_0 => 18,
        DType.Q4_K => 144,
        DType.Q6_K => 210,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    public static bool IsQuantized(DType t) => BlockSize(t) > 1;

    /// <summary>Bytes of one row of <paramref name="cols"/> weights; a quantized row must hold whole blocks.</summary>
    public static long RowBytes(DType t, long cols)
    {
        int block = BlockSize(t);
        if (cols % block != 0) throw new FrSpecException($"a row of {cols} {t} weights is not a whole number of {block}-weight blocks");
        return cols / block * BlockBytes(t);
    }

    /// <summary>Element size of a float type (quantized types have none: use <see cref="RowBytes"/>).</summary>
    public static int SizeOf(DType t) => t switch
    {
        DType.F32 => 4,
        DType.F16 => 2,
        DType.BF16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(t), $"{t} is block-quantized: it has no per-element size"),
    };

    /// <summary>Parses "bf16", "f16"/"fp16"/"float16", "f32"/"float32".</summary>
    public static DType Parse(string s) => s.ToLowerInvariant() switch
    {
        "bf16" or "bfloat16" => DType.BF16,
        "f16" or "fp16" or "float16" or "half" => DType.F16,
        "f32" or "fp32" or "float32" or "float" => DType.F32,
        _ => throw new FrSpecException($"unknown dtype '{s}' (expected bf16, f16 or f32)"),
    };

    public static string HfName(DType t) => t switch { DType.F32 => "float32", DType.F16 => "float16", _ => "bfloat16" };
}
