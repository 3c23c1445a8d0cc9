namespace FrSpec.Fuzzing;

/// <summary>
/// One mutated input: the files of the seed folder it replaces (null content = the file is deleted) and what the
/// mutation did, for the report and the reproducer.
/// </summary>
public sealed record FuzzCase(IReadOnlyDictionary<string, byte[]?> Files, string Mutation);

/// <summary>
/// A parser or loader under fuzzing. A target writes a valid seed folder once, turns its files into mutated cases
/// (structure-aware: it knows the format), and exercises a case folder the way the CLI uses such input: load it and use
/// what was loaded (run a forward pass, encode text, render a template, read every document). An exercise either
/// returns (the input was accepted and worked) or throws <see cref="FrSpecException"/> (rejected with a clear error);
/// anything else is a crash.
/// </summary>
public abstract class FuzzTarget
{
    /// <summary>The name `bench fuzz --target` selects it by.</summary>
    public abstract string Name { get; }

    /// <summary>What is fuzzed, in a few words.</summary>
    public abstract string Description { get; }

    /// <summary>Writes the valid inputs into the empty folder <paramref name="dir"/>.</summary>
    public abstract void WriteSeed(string dir);

    /// <summary>A mutated case of the seed (file name → bytes, read from the seed folder).</summary>
    public abstract FuzzCase Mutate(IReadOnlyDictionary<string, byte[]> seed, Random rng);

    /// <summary>Loads and uses the inputs in <paramref name="dir"/>.</summary>
    public abstract void Exercise(string dir);

    /// <summary>
    /// Most bytes one case may allocate: a small multiple of its input, plus room for the loaded model's scratch. A case
    /// above it means some field of the input sizes an allocation that the input's own size does not justify.
    /// </summary>
    public virtual long AllocationBound(long inputBytes) => (64L << 20) + 16 * inputBytes;

    /// <summary>Engine options for exercises: one thread, weights used in place (no huge-page arena per case).</summary>
    protected static EngineOptions Options { get; } = new() { Threads = 1, WeightMemory = WeightMemory.Mapped };

    /// <summary>A case that replaces one file.</summary>
    protected static FuzzCase One(string file, (byte[] Bytes, string What) m) => new(new Dictionary<string, byte[]?> { [file] = m.Bytes }, $"{file}: {m.What}");

    public override string ToString() => Name;
}
