using FrSpec.Numerics.CodeGen;

namespace FrSpec.Numerics;

/// <summary>
/// The resources <see cref="EngineOptions"/> select: the worker threads that run parallel regions, the kernel path and
/// the precision. Immutable and thread-safe; a loaded model keeps the one it was loaded with, so every product it
/// computes follows the same options. Pools are shared per thread count, so two models loaded with the same options
/// never run more threads than asked for. Kernels are chosen here once, not per call.
/// </summary>
public sealed class Compute
{
    private static readonly Dictionary<int, WorkerPool> Pools = new();
    private static Compute? s_default;

    public EngineOptions Options { get; }
    public WorkerPool Pool { get; }
    /// <summary>Instruction set of the managed kernels.</summary>
    public Isa Isa { get; }
    public Precision Precision => Options.Precision;
    /// <summary>Why generated kernels are not used although the options and CPU allow them (the OS refused executable
    /// memory), or null.</summary>
    public string? Notice { get; }
    /// <summary>Run-time generated kernels, or null: managed kernels only.</summary>
    internal GeneratedKernels? Generated { get; }

    private Compute(EngineOptions options, WorkerPool pool, Isa isa, GeneratedKernels? generated, string? notice)
    {
        Options = options; Pool = pool; Isa = isa; Generated = generated; Notice = notice;
    }

    /// <summary>Default options: all processors, the best kernels of this CPU.</summary>
    public static Compute Default => s_default ??= Create(EngineOptions.Default);

    public static Compute Create(EngineOptions? options) => Create(options, null);

    /// <summary>As <see cref="Create(EngineOptions?)"/>, placing generated code with <paramref name="placer"/> (tests simulate an OS
    /// that refuses executable memory); null = the operating system's, with kernels generated once per process.</summary>
    internal static Compute Create(EngineOptions? options, CodePlacer? placer)
    {
        options ??= EngineOptions.Default;
        options.Validate();
        var isa = options.Isa ?? MatMul.BestIsa;
        GeneratedKernels? generated = null;
        string? notice = null;
        // Generated kernels are AVX-512 code: forcing a narrower managed path (or CodeGeneration = false) turns them off.
        if (options.CodeGeneration && isa == Isa.Avx512)
            generated = placer == null ? GeneratedKernels.ForThisMachine(out notice) : GeneratedKernels.TryCreate(CpuFeatures.Detect(), placer, out notice);
        return new Compute(options, PoolFor(options.ResolvedThreads), isa, generated, notice);
    }

    /// <summary>Whether models loaded with this compute repack their bf16 weights into panels (<see cref="Bf16Panels"/>):
    /// when the fast precision runs on generated vdpbf16ps kernels.</summary>
    internal bool PacksBf16Weights => Precision == Precision.Fast && Generated?.Bf16Panels != null;

    /// <summary>The same options on another managed kernel path (tests compare paths on one model).</summary>
    public Compute WithIsa(Isa isa) => Create(Options with { Isa = isa });

    /// <summary>The same options with another precision.</summary>
    public Compute WithPrecision(Precision precision) => Create(Options with { Precision = precision });

    /// <summary>The same options with code generation switched on or off.</summary>
    public Compute WithCodeGeneration(bool on) => Create(Options with { CodeGeneration = on });

    /// <summary>What the matrix products run on, e.g. "fast: generated vdpbf16ps, managed Avx512".</summary>
    public string KernelPath => $"{Precision.ToString().ToLowerInvariant()}: {(Generated != null ? Generated + ", " : "")}managed {Isa}";

    private static WorkerPool PoolFor(int threads)
    {
        lock (Pools)
        {
            if (!Pools.TryGetValue(threads, out var pool)) Pools[threads] = pool = new WorkerPool(threads);
            return pool;
        }
    }
}
