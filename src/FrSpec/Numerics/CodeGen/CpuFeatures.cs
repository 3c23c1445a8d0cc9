using System.Runtime.Intrinsics.X86;

namespace FrSpec.Numerics.CodeGen;

/// <summary>
/// The x86 features the generated kernels need, read from CPUID directly: .NET 10 has no Avx512Bf16 or Avx512Vnni
/// classes, so <c>IsSupported</c> cannot answer for vdpbf16ps and vpdpbusd.
/// </summary>
public readonly record struct CpuFeatures(bool Avx512F, bool Avx512BW, bool Avx512VL, bool Avx512Bf16, bool Avx512Vnni)
{
    /// <summary>This machine's features. Zmm registers are usable only when the OS saves their state (XCR0 opmask and
    /// ZMM bits); the runtime checks exactly that before it reports <see cref="System.Runtime.Intrinsics.X86.Avx512F"/>,
    /// so a CPUID bit counts only when Avx512F.IsSupported is true as well.</summary>
    public static CpuFeatures Detect()
    {
        if (!X86Base.IsSupported || !System.Runtime.Intrinsics.X86.Avx512F.IsSupported) return default;
        var (maxLeaf, _, _, _) = X86Base.CpuId(0, 0);
        if (maxLeaf < 7) return default;
        var (_, ebx7, ecx7, _) = X86Base.CpuId(7, 0);
        var (eax71, _, _, _) = X86Base.CpuId(7, 1);
        bool f = Bit(ebx7, 16), bw = Bit(ebx7, 30), vl = Bit(ebx7, 31);
        return new CpuFeatures(f, bw, vl, Avx512Bf16: f && vl && Bit(eax71, 5), Avx512Vnni: f && vl && Bit(ecx7, 11));
    }

    private static bool Bit(int reg, int bit) => (reg >> bit & 1) != 0;

    /// <summary>Whether generated vdpbf16ps kernels can run here.</summary>
    public bool CanRunBf16Kernels => Avx512F && Avx512BW && Avx512VL && Avx512Bf16;

    /// <summary>Whether generated vpdpbusd kernels can run here.</summary>
    public bool CanRunInt8Kernels => Avx512F && Avx512BW && Avx512VL && Avx512Vnni;

    public override string ToString() =>
        $"AVX-512F {Avx512F}, BW {Avx512BW}, VL {Avx512VL}, BF16 {Avx512Bf16}, VNNI {Avx512Vnni}";
}
