using FrSpec.Numerics;

namespace FrSpec.Tests.Numerics;

/// <summary>Every kernel path this CPU can run, by name, so tests cover each one (generated code, each managed ISA).</summary>
internal static class KernelPaths
{
    public static readonly string[] Names = ["generated", "avx512", "avx2", "portable"];

    /// <summary>The compute for a path name and precision, or null when this machine cannot run that path.</summary>
    public static Compute? Get(string name, Precision precision)
    {
        var o = EngineOptions.Default with { Precision = precision };
        Compute c = name switch
        {
            "generated" => Compute.Create(o with { Isa = MatMul.IsSupported(Isa.Avx512) ? Isa.Avx512 : null, CodeGeneration = true }),
            "avx512" => MatMul.IsSupported(Isa.Avx512) ? Compute.Create(o with { Isa = Isa.Avx512, CodeGeneration = false }) : null!,
            "avx2" => MatMul.IsSupported(Isa.Avx2) ? Compute.Create(o with { Isa = Isa.Avx2, CodeGeneration = false }) : null!,
            "portable" => Compute.Create(o with { Isa = Isa.Portable, CodeGeneration = false }),
            _ => throw new ArgumentException(name),
        };
        if (c == null || (name == "generated" && c.Generated == null)) return null;
        return c;
    }
}
