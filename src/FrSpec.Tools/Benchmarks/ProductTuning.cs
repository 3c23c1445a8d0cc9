using FrSpec.Numerics;
using FrSpec.Numerics.CodeGen;

namespace FrSpec.Benchmarks;

/// <summary>
/// A named setting of the batched product drivers' tuning knobs (`bench products --variant name:knob=value,...`), so that
/// variants can alternate in one process. Knobs not named keep the engine's defaults.
/// </summary>
public sealed class ProductTuning
{
    private static readonly Dictionary<string, (Func<long> Get, Action<long> Set, string Description)> Knobs = new()
    {
        ["ahead"] = (() => PanelProducts.PrefetchAhead, v => PanelProducts.PrefetchAhead = v, "bytes a one-block bf16 panel call prefetches ahead (0: none)"),
        ["chunk"] = (() => PanelProducts.ChunkBudget, v => PanelProducts.ChunkBudget = checked((int)v), "bytes of L2 a bf16 K chunk may fill"),
        ["maxsteps"] = (() => PanelProducts.MaxChunkSteps, v => PanelProducts.MaxChunkSteps = checked((int)v), "longest bf16 K chunk, in column pairs"),
        ["poolsteps"] = (() => PanelProducts.ChunkSteps, v => PanelProducts.ChunkSteps = checked((int)v), "work of a pool chunk of multi-block bf16 products, in panel steps"),
        ["chunks1"] = (() => PanelProducts.OneBlockChunksPerThread, v => PanelProducts.OneBlockChunksPerThread = checked((int)v), "pool chunks per thread of one-block bf16 products"),
        ["qmin"] = (() => QuantizedProducts.BatchMinChunk, v => QuantizedProducts.BatchMinChunk = checked((int)v), "fewest groups in a pool chunk of batched quantized products"),
        ["qchunks"] = (() => QuantizedProducts.BatchChunksPerThread, v => QuantizedProducts.BatchChunksPerThread = checked((int)v), "pool chunks per thread of batched quantized products"),
        ["hint"] = (() => Bf16PanelKernels.PrefetchHint, v => Bf16PanelKernels.PrefetchHint = checked((int)v), "bf16 panel prefetch instruction 0/1/2 = prefetcht0/t1/t2 (generation time: bench bf16-tile only)"),
        ["next"] = (() => PanelProducts.PrefetchNextChunk ? 1 : 0, v => PanelProducts.PrefetchNextChunk = v != 0, "multi-block bf16 calls prefetch the next chunk (0/1)"),
    };

    private readonly Dictionary<string, long> _values;

    public string Name { get; }

    private ProductTuning(string name, Dictionary<string, long> values) { Name = name; _values = values; }

    /// <summary>The knobs and what each one sets, for help texts.</summary>
    public static string Describe() => string.Join("; ", Knobs.Select(k => $"{k.Key}: {k.Value.Description}"));

    /// <summary>The engine's current values of every knob, under <paramref name="name"/>.</summary>
    public static ProductTuning Current(string name) => new(name, Knobs.ToDictionary(k => k.Key, k => k.Value.Get()));

    /// <summary>Parses <c>name</c> or <c>name:knob=value,knob=value</c>; knobs not named keep the current defaults.</summary>
    public static ProductTuning Parse(string spec)
    {
        var defaults = Current("");
        int colon = spec.IndexOf(':');
        string name = colon < 0 ? spec : spec[..colon];
        if (name.Length == 0) throw new FrSpecException($"--variant '{spec}': give it a name (name:knob=value,...)");
        var values = new Dictionary<string, long>(defaults._values);
        if (colon >= 0)
            foreach (var part in spec[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                var kv = part.Split('=');
                if (kv.Length != 2 || !Knobs.ContainsKey(kv[0]))
                    throw new FrSpecException($"--variant '{spec}': '{part}' is not knob=value with a knob of: {string.Join(", ", Knobs.Keys)}");
                if (!long.TryParse(kv[1], out long v) || v < 0) throw new FrSpecException($"--variant '{spec}': {kv[0]} needs a non-negative integer, got '{kv[1]}'");
                values[kv[0]] = v;
            }
        return new(name, values);
    }

    /// <summary>Sets every knob to this variant's value.</summary>
    public void Apply()
    {
        foreach (var (knob, value) in _values) Knobs[knob].Set(value);
    }
}
