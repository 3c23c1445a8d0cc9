using FrSpec.Fuzzing.Targets;

namespace FrSpec.Fuzzing;

/// <summary>
/// Every fuzz target of the engine and tools, in report order; a new parser or loader gets a target here. Targets of
/// assemblies this one cannot reference (the OpenAI-compatible server's request bodies) join in
/// <c>BenchFuzzCommand.Targets</c> of the CLI, which references both.
/// </summary>
public static class FuzzTargets
{
    /// <summary>New instances of all targets.</summary>
    public static IReadOnlyList<FuzzTarget> All() =>
    [
        new SafetensorsTarget(), new SafetensorsIndexTarget(), new ConfigTarget(), new GenerationConfigTarget(),
        new TokenizerTarget(), new TokenizerConfigTarget(), new TorchTarget(), new FreqTarget(), new GgufTarget(),
        new CorpusTarget("txt"), new CorpusTarget("jsonl"), new CorpusTarget("jsonl.zst"), new CorpusTarget("jsonl.gz"), new CorpusTarget("parquet"),
        new QuestionsTarget(),
    ];

    /// <summary>The target called <paramref name="name"/>; an unknown name is an error listing the known ones.</summary>
    public static FuzzTarget ByName(string name) =>
        All().FirstOrDefault(t => t.Name == name)
        ?? throw new FrSpecException($"--target: unknown fuzz target '{name}' (known: {string.Join(", ", All().Select(t => t.Name))})");
}
