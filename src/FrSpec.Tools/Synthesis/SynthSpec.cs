namespace FrSpec.Synthesis;

/// <summary>Shape and family of a model to synthesize. Families: "llama3" (Llama-3/3.1/3.2), "qwen2", "mistral".</summary>
public sealed record SynthSpec
{
    public required string Family { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int Layers { get; init; }
    public required int Heads { get; init; }
    public required int KvHeads { get; init; }
    public int? HeadDim { get; init; }
    public required int VocabSize { get; init; }
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Llama-3.1/3.2 "llama3" rope scaling factor (null = none).</summary>
    public double? Llama3RopeFactor { get; init; }
    public double RopeTheta { get; init; } = 500000.0;
    public double RmsNormEps { get; init; } = FrSpec.Model.ModelConfig.DefaultRmsNormEps;
    public int MaxPositions { get; init; } = 8192;
    public int? BosTokenId { get; init; }
    public int[] EosTokenIds { get; init; } = [];
    /// <summary>Llama attention_bias: q/k/v/o projections with biases.</summary>
    public bool AttentionBias { get; init; }
    /// <summary>Llama mlp_bias: gate/up/down projections with biases.</summary>
    public bool MlpBias { get; init; }
    /// <summary>Mistral sliding_window (null = none).</summary>
    public int? SlidingWindow { get; init; }

    public int EffectiveHeadDim => HeadDim ?? HiddenSize / Heads;

    public static IReadOnlyList<string> PresetNames { get; } = ["tiny-llama3", "tiny-qwen2", "llama-3.2-1b", "llama-3-8b", "qwen2-7b"];

    /// <summary>The named presets: tiny ones (small dims, real full vocabulary) and real shapes.</summary>
    public static SynthSpec Preset(string name) => name switch
    {
        "tiny-llama3" => new()
        {
            Family = "llama3", HiddenSize = 64, IntermediateSize = 192, Layers = 2, Heads = 4, KvHeads = 2, VocabSize = 128256,
            TieWordEmbeddings = true, Llama3RopeFactor = 32.0, MaxPositions = 131072, BosTokenId = 128000, EosTokenIds = [128001, 128008, 128009], RmsNormEps = 1e-5,
        },
        "tiny-qwen2" => new()
        {
            Family = "qwen2", HiddenSize = 64, IntermediateSize = 192, Layers = 2, Heads = 4, KvHeads = 2, VocabSize = 151936,
            RopeTheta = 1000000.0, RmsNormEps = 1e-6, MaxPositions = 32768, BosTokenId = 151643, EosTokenIds = [151645],
        },
        "llama-3.2-1b" => new()
        {
            Family = "llama3", HiddenSize = 2048, IntermediateSize = 8192, Layers = 16, Heads = 32, KvHeads = 8, HeadDim = 64, VocabSize = 128256,
            TieWordEmbeddings = true, Llama3RopeFactor = 32.0, MaxPositions = 131072, BosTokenId = 128000, EosTokenIds = [128001, 128008, 128009], RmsNormEps = 1e-5,
        },
        "llama-3-8b" => new()
        {
            Family = "llama3", HiddenSize = 4096, IntermediateSize = 14336, Layers = 32, Heads = 32, KvHeads = 8, VocabSize = 128256,
            MaxPositions = 8192, BosTokenId = 128000, EosTokenIds = [128009], RmsNormEps = 1e-5,
        },
        "qwen2-7b" => new()
        {
            Family = "qwen2", HiddenSize = 3584, IntermediateSize = 18944, Layers = 28, Heads = 28, KvHeads = 4, VocabSize = 152064,
            RopeTheta = 1000000.0, RmsNormEps = 1e-6, MaxPositions = 32768, BosTokenId = 151643, EosTokenIds = [151645],
        },
        _ => throw new FrSpecException($"unknown preset '{name}' (known: {string.Join(", ", PresetNames)})"),
    };
}
