namespace FrSpec.Benchmarks;

/// <summary>Instructions whose peak <see cref="MachineProbe.GeneratedPeak"/> measures.</summary>
public enum GeneratedInstruction
{
    /// <summary>vfmadd231ps zmm: 32 operations.</summary>
    Fp32Fma,
    /// <summary>vdpbf16ps zmm (AVX512_BF16): 64 operations.</summary>
    Bf16Dot,
    /// <summary>vpdpbusd zmm (AVX512_VNNI): 128 operations.</summary>
    Int8Dot,
}
