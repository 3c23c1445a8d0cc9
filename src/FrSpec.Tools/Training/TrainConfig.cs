using System.Text.Json;
using System.Text.Json.Serialization;

namespace FrSpec.Training;

/// <summary>
/// A training run's settings, read from a small JSON file (snake_case keys). Model dims are used by `train lm` only;
/// `train eagle` takes its dims from the target.
/// </summary>
public sealed record TrainConfig
{
    // model (train lm)
    [JsonPropertyName("family")] public string Family { get; init; } = "qwen2";
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 128;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 384;
    [JsonPropertyName("num_hidden_layers")] public int Layers { get; init; } = 4;
    [JsonPropertyName("num_attention_heads")] public int Heads { get; init; } = 4;
    [JsonPropertyName("num_key_value_heads")] public int KvHeads { get; init; } = 2;
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 151936;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000.0;
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; init; } = FrSpec.Model.ModelConfig.DefaultRmsNormEps;
    [JsonPropertyName("max_position_embeddings")] public int MaxPositions { get; init; } = 4096;
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }
    [JsonPropertyName("eos_token_ids")] public int[] EosTokenIds { get; init; } = [151643, 151645];
    /// <summary>Token placed between documents in the training stream (Qwen's &lt;|endoftext|&gt;).</summary>
    [JsonPropertyName("document_separator_id")] public int DocumentSeparatorId { get; init; } = 151643;

    /// <summary>Training tokens to tokenize (whole blocks of 64 shuffled documents, at least this many); 0 = 1.25 × steps × batch × (seq_len + 1).</summary>
    [JsonPropertyName("train_tokens")] public long TrainTokens { get; init; }

    /// <summary>At most this many LM-head rows are trained, the most frequent tokens of the training stream (0 = every token
    /// that occurs); the other rows stay zero (see <c>LmTrainer.ActiveTokens</c>).</summary>
    [JsonPropertyName("max_active_tokens")] public int MaxActiveTokens { get; init; }

    // optimisation
    [JsonPropertyName("steps")] public int Steps { get; init; } = 1000;
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 8;
    [JsonPropertyName("seq_len")] public int SeqLen { get; init; } = 256;
    [JsonPropertyName("lr")] public double Lr { get; init; } = 3e-3;
    [JsonPropertyName("min_lr")] public double MinLr { get; init; } = 3e-4;
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; } = 50;
    [JsonPropertyName("weight_decay")] public float WeightDecay { get; init; } = 0.1f;
    [JsonPropertyName("beta1")] public float Beta1 { get; init; } = 0.9f;
    [JsonPropertyName("beta2")] public float Beta2 { get; init; } = 0.95f;
    [JsonPropertyName("grad_clip")] public double GradClip { get; init; } = 1.0;
    [JsonPropertyName("seed")] public ulong Seed { get; init; } = 1234;

    // bookkeeping
    [JsonPropertyName("eval_every")] public int EvalEvery { get; init; } = 50;
    [JsonPropertyName("eval_windows")] public int EvalWindows { get; init; } = 16;
    [JsonPropertyName("checkpoint_every")] public int CheckpointEvery { get; init; } = 25;
    [JsonPropertyName("log_every")] public int LogEvery { get; init; } = 1;
    /// <summary>Stop cleanly after this many seconds of training (a checkpoint and model are written); 0 = no limit.</summary>
    [JsonPropertyName("max_seconds")] public double MaxSeconds { get; init; }
    [JsonPropertyName("save_dtype")] public string SaveDtype { get; init; } = "bf16";

    // EAGLE (train eagle)
    [JsonPropertyName("regression_weight")] public float RegressionWeight { get; init; } = 1.0f;
    [JsonPropertyName("classification_weight")] public float ClassificationWeight { get; init; } = 0.1f;
    /// <summary>Uniform noise U(−a, a) added to the input features (EAGLE trains with feature noise for robustness).</summary>
    [JsonPropertyName("feature_noise")] public float FeatureNoise { get; init; }
    /// <summary>Windows of corpus text the target is run over (the training pool; batches are drawn from it).</summary>
    [JsonPropertyName("corpus_windows")] public int CorpusWindows { get; init; } = 512;
    /// <summary>Windows of text sampled by the target itself after a corpus prompt (what drafting sees at inference).</summary>
    [JsonPropertyName("generated_windows")] public int GeneratedWindows { get; init; }
    [JsonPropertyName("generation_prompt_tokens")] public int GenerationPromptTokens { get; init; } = 16;
    [JsonPropertyName("generation_temperature")] public float GenerationTemperature { get; init; } = 0.8f;
    /// <summary>Temperatures the generated windows cycle through (0 = greedy); empty = <see cref="GenerationTemperature"/> only.</summary>
    [JsonPropertyName("generation_temperatures")] public float[] GenerationTemperatures { get; init; } = [];
    /// <summary>Share of generated windows whose corpus prompt is sent as a user turn through the model's chat template (as
    /// chat benchmarks prompt the target), the target then answering in the assistant turn.</summary>
    [JsonPropertyName("chat_share")] public float ChatShare { get; init; }
    /// <summary>Corpus tokens in the prompt of a chat-formatted generated window (the template's tokens come on top).</summary>
    [JsonPropertyName("chat_prompt_tokens")] public int ChatPromptTokens { get; init; } = 48;

    // Medusa (train medusa)
    /// <summary>Medusa heads to train: head k predicts the token k + 2 places ahead (Medusa-1 ships 5; mc_sim_7b_63 uses 4).</summary>
    [JsonPropertyName("medusa_heads")] public int MedusaHeads { get; init; } = 4;

    private static readonly JsonSerializerOptions Options = new() { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, WriteIndented = true };

    public static TrainConfig Load(string path)
    {
        if (!File.Exists(path)) throw new FrSpecException($"{path}: config file not found");
        TrainConfig? c;
        try { c = JsonSerializer.Deserialize<TrainConfig>(File.ReadAllText(path), Options); }
        catch (JsonException e) { throw new FrSpecException($"{path}: invalid training config: {e.Message}"); }
        if (c == null) throw new FrSpecException($"{path}: empty training config");
        c.Validate(path);
        return c;
    }

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static TrainConfig FromJson(string json, string what) =>
        JsonSerializer.Deserialize<TrainConfig>(json, Options) ?? throw new FrSpecException($"{what}: empty training config");

    public void Validate(string file)
    {
        void Pos(long v, string name) { if (v <= 0) throw new FrSpecException($"{file}: field '{name}' must be positive, got {v}"); }
        Pos(HiddenSize, "hidden_size"); Pos(IntermediateSize, "intermediate_size"); Pos(Layers, "num_hidden_layers");
        Pos(Heads, "num_attention_heads"); Pos(KvHeads, "num_key_value_heads"); Pos(VocabSize, "vocab_size");
        Pos(Steps, "steps"); Pos(BatchSize, "batch_size"); Pos(SeqLen, "seq_len");
        if (Heads % KvHeads != 0) throw new FrSpecException($"{file}: num_attention_heads must be a multiple of num_key_value_heads");
        if (HiddenSize % Heads != 0 || HiddenSize / Heads % 2 != 0) throw new FrSpecException($"{file}: hidden_size/num_attention_heads must be an even integer");
        if ((long)BatchSize * SeqLen > 1 << 16) throw new FrSpecException($"{file}: batch_size × seq_len must be at most 65536");
        if (MaxActiveTokens < 0 || MaxActiveTokens > VocabSize) throw new FrSpecException($"{file}: field 'max_active_tokens' must be between 0 (all) and vocab_size, got {MaxActiveTokens}");
        if (Family is not ("qwen2" or "llama3")) throw new FrSpecException($"{file}: field 'family' must be qwen2 or llama3");
        if (!(Lr > 0)) throw new FrSpecException($"{file}: field 'lr' must be positive");
        if (MedusaHeads < 1 || MedusaHeads > Speculative.MedusaHeads.MaxHeads) throw new FrSpecException($"{file}: field 'medusa_heads' must be in [1, {Speculative.MedusaHeads.MaxHeads}]");
        if (!(ChatShare >= 0 && ChatShare <= 1)) throw new FrSpecException($"{file}: field 'chat_share' must be in [0, 1], got {ChatShare}");
        if (ChatPromptTokens < 1) throw new FrSpecException($"{file}: field 'chat_prompt_tokens' must be positive, got {ChatPromptTokens}");
        foreach (float t in GenerationTemperatures)
            if (!(t >= 0 && float.IsFinite(t))) throw new FrSpecException($"{file}: field 'generation_temperatures' must hold temperatures ≥ 0, got {t}");
    }

    public Synthesis.SynthSpec ToSpec() => new()
    {
        Family = Family, HiddenSize = HiddenSize, IntermediateSize = IntermediateSize, Layers = Layers, Heads = Heads, KvHeads = KvHeads,
        VocabSize = VocabSize, TieWordEmbeddings = true, RopeTheta = RopeTheta, RmsNormEps = RmsNormEps, MaxPositions = MaxPositions,
        BosTokenId = BosTokenId, EosTokenIds = EosTokenIds,
    };
}
