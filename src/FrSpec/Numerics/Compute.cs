namespace FrSpec.Numerics;

/// <summary>
/// The resources <see cref="EngineOptions"/> select: the worker threads that run parallel regions and the kernel path.
/// Immutable and thread-safe; a loaded model keeps the one it was loaded with, so every product it computes follows
/// the same options. Pools are shared per thread count, so two models loaded with the same options never run more
/// threads than asked for.
/// </summary>
public sealed class Compute
{
    private static readonly Dictionary<int, WorkerPool> Pools = new();
    private static Compute? s_default;

    public EngineOptions Options { get; }
    public WorkerPool Pool { get; }
    public Isa Isa { get; }
    public Precision Precision => Options.Precision;

    private Compute(EngineOptions options, WorkerPool pool, Isa isa)
    {
        Options = options; Pool = pool; Isa = isa;
    }

    /// <summary>Default options: all processors, the best kernels of this CPU, exact numerics.</summary>
    public static Compute Default => s_default ??= Create(EngineOptions.Default);

    public static Compute Create(EngineOptions? options)
    {
        options ??= EngineOptions.Default;
        options.Validate();
        return new Compute(options, PoolFor(options.ResolvedThreads), options.Isa ?? MatMul.BestIsa);
    }

    /// <summary>The same options on another kernel path (tests compare paths on one model).</summary>
    public Compute WithIsa(Isa isa) => Create(Options with { Isa = isa });

    private static WorkerPool PoolFor(int threads)
    {
        lock (Pools)
        {
            if (!Pools.TryGetValue(threads, out var pool)) Pools[threads] = pool = new WorkerPool(threads);
            return pool;
        }
    }
}
