namespace FrSpec.Numerics;

/// <summary>Element types of weight tensors the engine computes with.</summary>
public enum DType
{
    F32,
    F16,
    BF16,
}

public static class DTypeInfo
{
    public static int SizeOf(DType t) => t switch { DType.F32 => 4, DType.F16 => 2, DType.BF16 => 2, _ => throw new ArgumentOutOfRangeException(nameof(t)) };

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
