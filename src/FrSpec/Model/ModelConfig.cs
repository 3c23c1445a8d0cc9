using System.Text.Json;
using static FrSpec.Formats.JsonFields;

namespace FrSpec.Model;

/// <summary>How RoPE frequencies are scaled (HF rope_scaling / rope_parameters).</summary>
public sealed record RopeScaling(string Type, double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositions)
{
    /// <summary>Type "divisors": each frequency θ^(−2i/d) is divided by Divisors[i] (a GGUF rope_freqs tensor).</summary>
    public IReadOnlyList<float>? Divisors { get; init; }
}

/// <summary>
/// The architecture of a Llama-family decoder, read from a Hugging Face config.json.
/// Supports llama (incl. Llama-3.1/3.2 "llama3" rope scaling, tied embeddings, attention_bias and mlp_bias), mistral
/// (sliding_window) and qwen2 (q/k/v bias). Every field that changes the computation is honoured as transformers does or
/// rejected with an error naming it (docs/formats.md, "config.json"); defaults are transformers' defaults.
/// </summary>
public sealed record ModelConfig
{
    public required string Architecture { get; init; }   // e.g. LlamaForCausalLM
    public required string ModelType { get; init; }      // llama | mistral | qwen2
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int VocabSize { get; init; }
    public float RmsNormEps { get; init; } = (float)DefaultRmsNormEps;
    public double RopeTheta { get; init; } = 10000.0;
    public RopeScaling? RopeScaling { get; init; }
    public int MaxPositions { get; init; } = 2048;
    public bool TieWordEmbeddings { get; init; }
    /// <summary>q/k/v projections have biases (Qwen2 always; Llama with attention_bias).</summary>
    public bool AttentionBias { get; init; }
    /// <summary>The output projection has a bias (Llama with attention_bias; Qwen2 never).</summary>
    public bool AttentionOutputBias { get; init; }
    /// <summary>gate/up/down projections have biases (Llama with mlp_bias).</summary>
    public bool MlpBias { get; init; }
    /// <summary>
    /// Sliding-window attention span (Mistral's sliding_window; Qwen2's when use_sliding_window), or null. FrSpec attends
    /// to the full context, which equals sliding-window attention for positions below the window only, so a pass beyond
    /// it is rejected (<see cref="Transformer.Forward"/>).
    /// </summary>
    public int? SlidingWindow { get; init; }
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = Array.Empty<int>();
    public string TorchDtype { get; init; } = "bfloat16";

    /// <summary>transformers' default rms_norm_eps for Llama, Mistral and Qwen2 (the one default FrSpec uses everywhere).</summary>
    public const double DefaultRmsNormEps = 1e-6;

    public static readonly IReadOnlyDictionary<string, string> KnownArchitectures = new Dictionary<string, string>
    {
        ["LlamaForCausalLM"] = "llama",
        ["MistralForCausalLM"] = "mistral",
        ["Qwen2ForCausalLM"] = "qwen2",
    };

    /// <summary>Reads config.json from a model directory or a file path.</summary>
    public static ModelConfig Load(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, "config.json") : path;
        if (!File.Exists(file)) throw new FrSpecException($"{file}: config.json not found");
        using var doc = ReadObject(file);
        return Parse(doc.RootElement, file);
    }

    public static ModelConfig Parse(JsonElement root, string file, bool requireArchitecture = true)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new FrSpecException($"{file}: expected a JSON object");
        string arch = OptStrings(root, "architectures", file) is [var first, ..] ? first : "";
        string modelType = Str(root, "model_type", file) ?? "";
        if (requireArchitecture)
        {
            if (arch == "" && modelType == "") throw new FrSpecException($"{file}: field 'architectures' (or 'model_type') is missing");
            if (arch != "" && !KnownArchitectures.ContainsKey(arch))
                throw new FrSpecException($"{file}: unknown architecture '{arch}' in field 'architectures' (supported: {string.Join(", ", KnownArchitectures.Keys)})");
            if (arch == "")
            {
                arch = KnownArchitectures.FirstOrDefault(kv => kv.Value == modelType).Key
                    ?? throw new FrSpecException($"{file}: unknown model_type '{modelType}' (supported: llama, mistral, qwen2)");
            }
            modelType = KnownArchitectures[arch];
        }
        int hidden = Int(root, "hidden_size", file);
        int heads = Int(root, "num_attention_heads", file);
        int kvHeads = OptInt(root, "num_key_value_heads", file) ?? heads;
        int? explicitHeadDim = OptInt(root, "head_dim", file);
        if (explicitHeadDim is null && heads > 0 && hidden % heads != 0)
            throw new FrSpecException($"{file}: hidden_size ({hidden}) is not a multiple of num_attention_heads ({heads}) and there is no head_dim");
        int headDim = explicitHeadDim ?? (heads > 0 ? hidden / heads : 0);

        // rope: transformers >= 5 writes rope_parameters {rope_theta, rope_type, ...}
        double theta = OptDouble(root, "rope_theta", file) ?? 10000.0;
        JsonElement? scalingEl = OptObject(root, "rope_scaling", file);
        string scalingName = "rope_scaling";
        if (OptObject(root, "rope_parameters", file) is JsonElement rp)
        {
            theta = OptDouble(rp, "rope_theta", file, "rope_parameters") ?? theta;
            if (scalingEl is null) (scalingEl, scalingName) = (rp, "rope_parameters");
        }
        RopeScaling? scaling = null;
        if (scalingEl is JsonElement sc)
        {
            string type = Str(sc, "rope_type", file, scalingName) ?? Str(sc, "type", file, scalingName) ?? "default";
            double Factor(string name, double? fallback) =>
                OptDouble(sc, name, file, scalingName) ?? fallback ?? throw new FrSpecException($"{file}: {scalingName}.{name} missing");
            if (type == "llama3")
                scaling = new RopeScaling(type, Factor("factor", null), Factor("low_freq_factor", 1.0), Factor("high_freq_factor", 4.0),
                    OptInt(sc, "original_max_position_embeddings", file, scalingName) ?? 8192);
            else if (type == "linear")
                scaling = new RopeScaling(type, Factor("factor", 1.0), 0, 0, 0);
            else if (type != "default")
                throw new FrSpecException($"{file}: unsupported rope_scaling type '{type}' (supported: llama3, linear, default)");
        }

        string act = Str(root, "hidden_act", file) ?? "silu";
        if (act != "silu") throw new FrSpecException($"{file}: hidden_act '{act}' is not supported (Llama, Mistral and Qwen2 use silu)");
        bool qwen = modelType == "qwen2", llama = modelType == "llama";
        // transformers reads attention_bias and mlp_bias for Llama only; Mistral has no biases, Qwen2 q/k/v biases.
        bool attentionBias = llama && (OptBool(root, "attention_bias", file) ?? false);
        int? window = modelType switch
        {
            "mistral" => OptInt(root, "sliding_window", file),
            "qwen2" when OptBool(root, "use_sliding_window", file) == true => OptInt(root, "sliding_window", file),
            _ => null,
        };
        if (window is <= 0) throw new FrSpecException($"{file}: field 'sliding_window' must be positive, got {window}");
        int vocab = Int(root, "vocab_size", file);
        if (vocab <= 0) throw new FrSpecException($"{file}: field 'vocab_size' must be positive, got {vocab}");
        double eps = OptDouble(root, "rms_norm_eps", file) ?? DefaultRmsNormEps;
        if (!(eps > 0 && eps <= 1) || (float)eps == 0) throw new FrSpecException($"{file}: field 'rms_norm_eps' must be in (0, 1] (and not round to 0 as a float), got {eps}");
        var config = new ModelConfig
        {
            Architecture = arch,
            ModelType = modelType,
            HiddenSize = hidden,
            IntermediateSize = Int(root, "intermediate_size", file),
            NumLayers = Int(root, "num_hidden_layers", file),
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            VocabSize = vocab,
            RmsNormEps = (float)eps,
            RopeTheta = theta,
            RopeScaling = scaling,
            MaxPositions = OptInt(root, "max_position_embeddings", file) ?? 2048,
            TieWordEmbeddings = OptBool(root, "tie_word_embeddings", file) ?? false,
            AttentionBias = qwen || attentionBias,
            AttentionOutputBias = attentionBias,
            MlpBias = llama && (OptBool(root, "mlp_bias", file) ?? false),
            SlidingWindow = window,
            BosTokenId = TokenIds(root, "bos_token_id", file, vocab) is [int bos, ..] ? bos : null,
            EosTokenIds = TokenIds(root, "eos_token_id", file, vocab),
            TorchDtype = Str(root, "torch_dtype", file) ?? Str(root, "dtype", file) ?? "bfloat16",
        };
        config.Validate(file);
        return config;
    }

    /// <summary>
    /// Checks every size and number against the engine's bounds (far above every real model, low enough that no product
    /// of sizes overflows: heads × head_dim, rows × columns of every matrix) and the numerical fields (positive finite
    /// eps, θ and rope factors). Errors name <paramref name="origin"/> and the config.json field.
    /// </summary>
    public void Validate(string origin)
    {
        Limits.Check(HiddenSize, 1, Limits.MaxHidden, "hidden_size", origin);
        Limits.Check(IntermediateSize, 1, Limits.MaxIntermediate, "intermediate_size", origin);
        Limits.Check(NumLayers, 1, Limits.MaxLayers, "num_hidden_layers", origin);
        Limits.Check(NumHeads, 1, Limits.MaxHeads, "num_attention_heads", origin);
        Limits.Check(NumKvHeads, 1, Limits.MaxHeads, "num_key_value_heads", origin);
        Limits.Check(VocabSize, 1, Limits.MaxVocab, "vocab_size", origin);
        Limits.Check(MaxPositions, 1, int.MaxValue, "max_position_embeddings", origin);
        if (NumHeads % NumKvHeads != 0)
            throw new FrSpecException($"{origin}: num_attention_heads ({NumHeads}) must be a multiple of num_key_value_heads ({NumKvHeads})");
        if (HeadDim <= 0 || HeadDim % 2 != 0 || HeadDim > Limits.MaxHeadDim)
            throw new FrSpecException($"{origin}: head_dim {HeadDim} must be positive, even and at most {Limits.MaxHeadDim}");
        // Within these bounds every product fits: heads × head_dim ≤ 2^20, and matrix sizes are computed in 64 bits.
        _ = checked(NumHeads * HeadDim * sizeof(float));
        if (!(RmsNormEps > 0) || !float.IsFinite(RmsNormEps) || RmsNormEps > 1)
            throw new FrSpecException($"{origin}: field 'rms_norm_eps' must be in (0, 1], got {RmsNormEps}");
        Limits.Positive(RopeTheta, "rope_theta", origin);
        if (SlidingWindow is <= 0) throw new FrSpecException($"{origin}: field 'sliding_window' must be positive, got {SlidingWindow}");
        if (RopeScaling is { } r && r.Divisors is null)
        {
            Limits.Positive(r.Factor, "rope_scaling.factor", origin);
            if (r.Type == "llama3")
            {
                Limits.Positive(r.LowFreqFactor, "rope_scaling.low_freq_factor", origin);
                Limits.Positive(r.HighFreqFactor, "rope_scaling.high_freq_factor", origin);
                Limits.Check(r.OriginalMaxPositions, 1, int.MaxValue, "rope_scaling.original_max_position_embeddings", origin);
                // The llama3 rule blends between the wavelengths original/low and original/high: they must differ.
                if (!(r.HighFreqFactor > r.LowFreqFactor))
                    throw new FrSpecException($"{origin}: rope_scaling.high_freq_factor ({r.HighFreqFactor}) must be larger than low_freq_factor ({r.LowFreqFactor})");
            }
        }
        if (BosTokenId is int bos && (uint)bos >= (uint)VocabSize) throw new FrSpecException($"{origin}: bos_token_id {bos} is outside the vocabulary of {VocabSize} ids");
        foreach (int eos in EosTokenIds)
            if ((uint)eos >= (uint)VocabSize) throw new FrSpecException($"{origin}: eos_token_id {eos} is outside the vocabulary of {VocabSize} ids");
    }

    /// <summary>Plausibility bounds of config fields: far above every real model, low enough that no product overflows.</summary>
    internal static class Limits
    {
        public const int MaxHidden = 1 << 16, MaxIntermediate = 1 << 18, MaxHeads = 1024, MaxHeadDim = 1024, MaxLayers = 1024, MaxVocab = 1 << 22;

        public static int Check(int v, int min, int max, string field, string file) =>
            v >= min && v <= max ? v : throw new FrSpecException($"{file}: field '{field}' must be between {min} and {max}, got {v}");

        public static double Positive(double v, string field, string file) =>
            v > 0 && double.IsFinite(v) ? v : throw new FrSpecException($"{file}: field '{field}' must be a positive finite number, got {v}");
    }

}
