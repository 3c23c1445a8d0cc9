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
        string arch = "";
        if (root.TryGetProperty("architectures", out var archs) && archs.ValueKind == JsonValueKind.Array && archs.GetArrayLength() > 0)
            arch = archs[0].GetString() ?? "";
        string modelType = Str(root, "model_type") ?? "";
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
        int kvHeads = OptInt(root, "num_key_value_heads") ?? heads;
        int headDim = OptInt(root, "head_dim") ?? (heads > 0 ? hidden / heads : 0);
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
            throw new FrSpecException($"{file}: num_attention_heads ({heads}) must be a positive multiple of num_key_value_heads ({kvHeads})");
        if (headDim <= 0 || headDim % 2 != 0) throw new FrSpecException($"{file}: head_dim {headDim} must be positive and even");

        // rope: transformers >= 5 writes rope_parameters {rope_theta, rope_type, ...}
        double theta = OptDouble(root, "rope_theta") ?? 10000.0;
        JsonElement scalingEl = default;
        bool hasScaling = root.TryGetProperty("rope_scaling", out scalingEl) && scalingEl.ValueKind == JsonValueKind.Object;
        if (root.TryGetProperty("rope_parameters", out var rp) && rp.ValueKind == JsonValueKind.Object)
        {
            theta = OptDouble(rp, "rope_theta") ?? theta;
            if (!hasScaling) { scalingEl = rp; hasScaling = true; }
        }
        RopeScaling? scaling = null;
        if (hasScaling)
        {
            string type = Str(scalingEl, "rope_type") ?? Str(scalingEl, "type") ?? "default";
            if (type == "llama3")
            {
                scaling = new RopeScaling(type,
                    OptDouble(scalingEl, "factor") ?? throw new FrSpecException($"{file}: rope_scaling.factor missing"),
                    OptDouble(scalingEl, "low_freq_factor") ?? 1.0,
                    OptDouble(scalingEl, "high_freq_factor") ?? 4.0,
                    OptInt(scalingEl, "original_max_position_embeddings") ?? 8192);
            }
            else if (type == "linear")
                scaling = new RopeScaling(type, OptDouble(scalingEl, "factor") ?? 1.0, 0, 0, 0);
            else if (type != "default")
                throw new FrSpecException($"{file}: unsupported rope_scaling type '{type}' (supported: llama3, linear, default)");
        }

        string act = Str(root, "hidden_act") ?? "silu";
        if (act != "silu") throw new FrSpecException($"{file}: hidden_act '{act}' is not supported (Llama, Mistral and Qwen2 use silu)");
        bool qwen = modelType == "qwen2", llama = modelType == "llama";
        // transformers reads attention_bias and mlp_bias for Llama only; Mistral has no biases, Qwen2 q/k/v biases.
        bool attentionBias = llama && (OptBool(root, "attention_bias") ?? false);
        int? window = modelType switch
        {
            "mistral" => OptInt(root, "sliding_window"),
            "qwen2" when OptBool(root, "use_sliding_window") == true => OptInt(root, "sliding_window"),
            _ => null,
        };
        if (window is <= 0) throw new FrSpecException($"{file}: field 'sliding_window' must be positive, got {window}");
        int vocab = Positive(Int(root, "vocab_size", file), "vocab_size", file);
        return new ModelConfig
        {
            Architecture = arch,
            ModelType = modelType,
            HiddenSize = Positive(hidden, "hidden_size", file),
            IntermediateSize = Positive(Int(root, "intermediate_size", file), "intermediate_size", file),
            NumLayers = Positive(Int(root, "num_hidden_layers", file), "num_hidden_layers", file),
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            VocabSize = vocab,
            RmsNormEps = (float)(OptDouble(root, "rms_norm_eps") ?? DefaultRmsNormEps),
            RopeTheta = theta,
            RopeScaling = scaling,
            MaxPositions = OptInt(root, "max_position_embeddings") ?? 2048,
            TieWordEmbeddings = OptBool(root, "tie_word_embeddings") ?? false,
            AttentionBias = qwen || attentionBias,
            AttentionOutputBias = attentionBias,
            MlpBias = llama && (OptBool(root, "mlp_bias") ?? false),
            SlidingWindow = window,
            BosTokenId = TokenIds(root, "bos_token_id", file, vocab) is [int bos, ..] ? bos : null,
            EosTokenIds = TokenIds(root, "eos_token_id", file, vocab),
            TorchDtype = Str(root, "torch_dtype") ?? Str(root, "dtype") ?? "bfloat16",
        };
    }

    private static int Positive(int v, string field, string file) => v > 0 ? v : throw new FrSpecException($"{file}: field '{field}' must be positive, got {v}");
}
