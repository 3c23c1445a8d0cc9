using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec;

/// <summary>How activations meet weights in the matrix products of a forward pass.</summary>
public enum Precision
{
    /// <summary>fp32 activations against widened weights: the reference numerics (≤ 1e-4 from a double-precision forward).</summary>
    Exact,
    /// <summary>Activations rounded to the weights' compute type (bf16 for bf16/f16 weights, int8 per block of 32 for Q8_0
    /// weights) to use the CPU's dot-product instructions (vdpbf16ps, vpdpbusd); with vdpbf16ps kernels the KV cache is
    /// stored as bf16 and attention runs on them too. Batch-invariant like <see cref="Exact"/>; models with f32 weights
    /// compute as in <see cref="Exact"/>.</summary>
    Fast,
}

/// <summary>
/// Everything the engine needs to know about the machine it runs on, passed in explicitly: the library reads no
/// environment variables (the CLI maps FRSPEC_* variables and flags onto this record at its edge).
/// </summary>
public sealed record EngineOptions
{
    /// <summary>Threads that share each parallel region, the calling thread included; 0 = all logical processors.</summary>
    public int Threads { get; init; }

    /// <summary>Instruction-set path of the managed kernels; null = the best this CPU supports. Generated kernels run only on
    /// the AVX-512 path, so a narrower one also switches them off.</summary>
    public Isa? Isa { get; init; }

    /// <summary>Whether kernels may be generated as machine code at run time (vdpbf16ps and vpdpbusd, which .NET does not
    /// expose). If the operating system refuses executable memory the managed kernels run, with a one-line notice.</summary>
    public bool CodeGeneration { get; init; } = true;

    /// <summary>Where weights live while the engine runs.</summary>
    public WeightMemory WeightMemory { get; init; } = WeightMemory.Default;

    /// <summary>Numerics of the matrix products; fast by default (see docs/performance.md for its measured error).</summary>
    public Precision Precision { get; init; } = Precision.Fast;

    public static EngineOptions Default { get; } = new();

    /// <summary>The thread count these options resolve to on this machine.</summary>
    public int ResolvedThreads => Threads > 0 ? Threads : Math.Max(1, Environment.ProcessorCount);

    /// <summary>Throws <see cref="FrSpecException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Threads < 0 || Threads > 1024) throw new FrSpecException($"engine option threads must be between 0 (all processors) and 1024, got {Threads}");
        if (Isa is Isa isa && !MatMul.IsSupported(isa)) throw new FrSpecException($"engine option isa: this CPU does not support the {isa} kernels");
        if (!Enum.IsDefined(WeightMemory)) throw new FrSpecException($"engine option weight memory: unknown value {(int)WeightMemory}");
        if (!Enum.IsDefined(Precision)) throw new FrSpecException($"engine option precision: unknown value {(int)Precision}");
    }
}
