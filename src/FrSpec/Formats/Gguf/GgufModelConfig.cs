using FrSpec.Model;

namespace FrSpec.Formats.Gguf;

/// <summary>
/// The <see cref="ModelConfig"/> of a GGUF file's llama or qwen2 model, from its {arch}.* metadata and tensor shapes:
/// the vocabulary is the embedding's row count, tied embeddings mean output.weight is absent, and Llama-3.1 rope scaling
/// comes from the rope_freqs.weight tensor (recognised as the "llama3" parameters when they reproduce it, else used as
/// per-frequency divisors) or from {arch}.rope.scaling.type "linear".
/// </summary>
public static class GgufModelConfig
{
    /// <summary>GGUF architectures FrSpec runs, with the Hugging Face architecture each corresponds to.</summary>
    public static readonly IReadOnlyDictionary<string, string> Architectures = new Dictionary<string, string>
    {
        ["llama"] = "LlamaForCausalLM",
        ["qwen2"] = "Qwen2ForCausalLM",
    };

    /// <summary>The standard Llama-3.1 rope parameters tried against a rope_freqs tensor (low, high frequency factor).</summary>
    private static readonly (double Low, double High)[] Llama3Candidates = [(1.0, 4.0)];
    private const int Llama3OriginalContext = 8192;

    /// <summary>The model config of an open GGUF file; errors name the file and the key or tensor.</summary>
    public static ModelConfig Read(GgufFile f)
    {
        var m = f.Metadata;
        string arch = m.String("general.architecture") ?? throw new FrSpecException($"{f.Path}: metadata 'general.architecture' is missing");
        if (!Architectures.TryGetValue(arch, out var hfArch))
            throw new FrSpecException($"{f.Path}: architecture '{arch}' is not supported (supported: {string.Join(", ", Architectures.Keys)})");
        int Required(string key) => m.Int32($"{arch}.{key}", 1) ?? throw new FrSpecException($"{f.Path}: metadata '{arch}.{key}' is missing");

        int hidden = Required("embedding_length");
        int heads = Required("attention.head_count");
        int kvHeads = m.Int32($"{arch}.attention.head_count_kv", 1) ?? heads;
        if (heads % kvHeads != 0)
            throw new FrSpecException($"{f.Path}: metadata '{arch}.attention.head_count' ({heads}) is not a multiple of '{arch}.attention.head_count_kv' ({kvHeads})");
        int headDim = m.Int32($"{arch}.attention.key_length", 1) ?? hidden / heads;
        if (headDim <= 0 || headDim % 2 != 0) throw new FrSpecException($"{f.Path}: head dimension {headDim} must be positive and even");
        if (m.Int32($"{arch}.attention.value_length", 1) is int vl && vl != headDim)
            throw new FrSpecException($"{f.Path}: metadata '{arch}.attention.value_length' ({vl}) differs from the key length ({headDim})");
        if (m.Int32($"{arch}.rope.dimension_count", 1) is int rd && rd != headDim)
            throw new FrSpecException($"{f.Path}: metadata '{arch}.rope.dimension_count' ({rd}) differs from the head dimension ({headDim}); partial rotary embeddings are not supported");

        // Sizes that the engine allocates by are tied to tensors the file really holds, so a corrupt count cannot make
        // it allocate more than the file justifies.
        int layers = Required("block_count");
        if (layers > f.Tensors.Count)
            throw new FrSpecException($"{f.Path}: metadata '{arch}.block_count' ({layers}) exceeds the {f.Tensors.Count} tensors of the file");
        ExpectShape(f, "blk.0.attn_q.weight", (long)heads * headDim, hidden);
        ExpectShape(f, "blk.0.attn_k.weight", (long)kvHeads * headDim, hidden);

        var embedding = f.Tensor("token_embd.weight");
        if (embedding.Shape.Length != 2 || embedding.Shape[1] != hidden || embedding.Shape[0] > int.MaxValue)
            throw new FrSpecException($"{f.Path}: tensor 'token_embd.weight' has shape [{string.Join(", ", embedding.Shape)}], expected [vocab, {hidden}]");
        int vocab = (int)embedding.Shape[0];
        if (m.Int32($"{arch}.vocab_size") is int vs && vs != vocab)
            throw new FrSpecException($"{f.Path}: metadata '{arch}.vocab_size' ({vs}) differs from the {vocab} rows of token_embd.weight");
        if (m.Raw("tokenizer.ggml.tokens") is string[] tokens && tokens.Length > vocab)
            throw new FrSpecException($"{f.Path}: tokenizer.ggml.tokens has {tokens.Length} entries but token_embd.weight only {vocab} rows");

        double theta = Positive(f, $"{arch}.rope.freq_base", m.Number($"{arch}.rope.freq_base") ?? 10000.0);
        double eps = Positive(f, $"{arch}.attention.layer_norm_rms_epsilon", m.Number($"{arch}.attention.layer_norm_rms_epsilon")
            ?? throw new FrSpecException($"{f.Path}: metadata '{arch}.attention.layer_norm_rms_epsilon' is missing"));
        var eos = new List<int>();
        foreach (var key in new[] { "eos_token_id", "eot_token_id", "eom_token_id" })
            if (m.Int32($"tokenizer.ggml.{key}", 0, vocab - 1) is int id && !eos.Contains(id)) eos.Add(id);
        bool qwen = arch == "qwen2";
        var config = new ModelConfig
        {
            Architecture = hfArch,
            ModelType = arch,
            HiddenSize = hidden,
            IntermediateSize = Required("feed_forward_length"),
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            VocabSize = vocab,
            RmsNormEps = (float)eps,
            RopeTheta = theta,
            RopeScaling = ReadRopeScaling(f, arch, headDim, theta),
            MaxPositions = m.Int32($"{arch}.context_length", 1) ?? 2048,
            TieWordEmbeddings = !f.Contains("output.weight"),
            // Qwen2 always has q/k/v biases; a llama-architecture file has them when the tensors are there.
            AttentionBias = qwen || f.Contains("blk.0.attn_q.bias"),
            BosTokenId = m.Int32("tokenizer.ggml.bos_token_id", 0, vocab - 1),
            EosTokenIds = eos,
            TorchDtype = embedding.Type switch { GgmlType.F32 => "float32", GgmlType.F16 => "float16", _ => "bfloat16" },
        };
        config.Validate(f.Path);   // the bounds config.json gets (sizes, eps, θ, rope factors)
        return config;
    }

    private static double Positive(GgufFile f, string key, double v) =>
        v > 0 && double.IsFinite(v) ? v : throw new FrSpecException($"{f.Path}: metadata '{key}' = {v} must be positive and finite");

    private static void ExpectShape(GgufFile f, string name, long rows, long cols)
    {
        var t = f.Tensor(name);
        if (t.Shape.Length != 2 || t.Shape[0] != rows || t.Shape[1] != cols)
            throw new FrSpecException($"{f.Path}: tensor '{name}' has shape [{string.Join(", ", t.Shape)}], expected [{rows}, {cols}] from the head counts and sizes in the metadata");
    }

    private static RopeScaling? ReadRopeScaling(GgufFile f, string arch, int headDim, double theta)
    {
        var m = f.Metadata;
        string type = m.String($"{arch}.rope.scaling.type") ?? "none";
        if (type == "linear")
        {
            double factor = m.Number($"{arch}.rope.scaling.factor") ?? throw new FrSpecException($"{f.Path}: metadata '{arch}.rope.scaling.factor' is missing");
            if (!(factor > 0)) throw new FrSpecException($"{f.Path}: metadata '{arch}.rope.scaling.factor' = {factor} must be positive");
            return factor == 1 ? null : new RopeScaling("linear", factor, 0, 0, 0);
        }
        if (type != "none") throw new FrSpecException($"{f.Path}: metadata '{arch}.rope.scaling.type' '{type}' is not supported (supported: none, linear, and llama3 via rope_freqs.weight)");
        if (!f.Contains("rope_freqs.weight")) return null;

        var t = f.Tensor("rope_freqs.weight");
        if (t.Shape.Length != 1 || t.Shape[0] != headDim / 2)
            throw new FrSpecException($"{f.Path}: tensor 'rope_freqs.weight' has shape [{string.Join(", ", t.Shape)}], expected [{headDim / 2}]");
        var divisors = new float[headDim / 2];
        unsafe { Numerics.Convert.ToFloat(t.DType, (byte*)f.DataPointer(t), divisors); }
        float max = 0;
        foreach (float d in divisors)
        {
            if (!(d > 0) || float.IsInfinity(d)) throw new FrSpecException($"{f.Path}: tensor 'rope_freqs.weight' holds {d}; divisors must be positive and finite");
            max = MathF.Max(max, d);
        }
        if (max == 1 && divisors.All(d => d == 1)) return null;

        // Llama-3.1/3.2 files carry the divisors their "llama3" parameters produce. Recognising the parameters lets the
        // frequencies be computed exactly as from the Hugging Face config, so both files give identical logits.
        int original = m.Int32($"{arch}.rope.scaling.original_context_length", 1) ?? Llama3OriginalContext;
        foreach (var (low, high) in Llama3Candidates)
        {
            var candidate = new RopeScaling("llama3", max, low, high, original);
            var scaled = new Rope(headDim, theta, candidate).InverseFrequencies;
            bool matches = true;
            for (int i = 0; i < divisors.Length && matches; i++)
            {
                double expected = 1.0 / Math.Pow(theta, 2.0 * i / headDim) / divisors[i];
                matches = Math.Abs(scaled[i] - expected) <= 1e-5 * expected;
            }
            if (matches) return candidate;
        }
        return new RopeScaling("divisors", max, 0, 0, 0) { Divisors = divisors };
    }
}
