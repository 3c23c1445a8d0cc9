using FrSpec.Fuzzing.Targets;

namespace FrSpec.Fuzzing;

/// <summary>
/// Every fuzz target, in report order. A new parser or loader gets a target here. The OpenAI-compatible server's
/// request bodies (src/FrSpec.Server, when it exists) plug in the same way: a target whose seed is a set of request
/// bodies and whose exercise parses each through the server's request reader.
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
