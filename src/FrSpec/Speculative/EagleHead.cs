using FrSpec.Formats;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Speculative;

/// <summary>
/// An EAGLE-1/2 draft head (the published layout, docs/formats.md, "EAGLE-1/2 heads" and "Draft forward"):
/// x = fc(concat(embedding(token), feature)), then one decoder layer without input norm; its output is both the next feature and what the LM head reads.
/// The target's embedding and LM head are used (a bundled embed_tokens/lm_head is ignored). RoPE uses the
/// head's own θ, plain (no scaling), as the reference does. Immutable once loaded: sessions share one head, each
/// drafting with its own <see cref="ForwardState"/> and draft cache.
/// </summary>
public sealed class EagleHead : IDisposable
{
    public int HiddenSize { get; }
    public int NumKvHeads { get; }
    public int HeadDim { get; }
    public double RopeTheta { get; }
    /// <summary>fc weight [H, 2H]: input columns are the embedding half then the feature half.</summary>
    internal WeightMatrix Fc { get; }
    internal float[]? FcBias { get; }
    internal DecoderLayer Layer { get; }
    internal Rope Rope { get; }
    /// <summary>Where the weights came from.</summary>
    public string Source { get; }

    private readonly EagleTensors _tensors;
    private readonly Compute _compute;

    private EagleHead(EagleTensors tensors, WeightMatrix fc, float[]? fcBias, DecoderLayer layer, int hidden, int kvHeads, int headDim, double theta,
        Compute compute)
    {
        _compute = compute;
        _tensors = tensors; Fc = fc; FcBias = fcBias; Layer = layer;
        HiddenSize = hidden; NumKvHeads = kvHeads; HeadDim = headDim; RopeTheta = theta;
        Rope = new Rope(headDim, theta);
        Source = tensors.Source;
    }

    /// <summary>
    /// Tensors a published head may bundle that the head does not use: copies of the target's embedding and LM head
    /// (the target's own are used) and RoPE's recomputed inv_freq buffer.
    /// </summary>
    public static IReadOnlyList<string> IgnoredTensorSuffixes { get; } = ["embed_tokens.weight", "lm_head.weight", ".rotary_emb.inv_freq"];

    /// <summary>
    /// Loads an EAGLE head directory (config.json + pytorch_model.bin or model.safetensors) for the given target,
    /// checking that its hidden size and vocabulary match.
    /// </summary>
    public static EagleHead Load(string dir, ModelConfig target, Compute? compute = null)
    {
        if (!Directory.Exists(dir)) throw new FrSpecException($"{dir}: EAGLE head directory not found");
        string cfgFile = Path.Combine(dir, "config.json");
        if (!File.Exists(cfgFile)) throw new FrSpecException($"{cfgFile}: config.json not found (expected an EAGLE-1/2 head)");
        ModelConfig cfg;
        bool? bias, qkvBias;
        using (var doc = JsonFields.ReadObject(cfgFile))
        {
            var root = doc.RootElement;
            if (root.TryGetProperty("draft_vocab_size", out _) || root.TryGetProperty("target_hidden_size", out _) || root.TryGetProperty("transformer_layer_config", out _))
                throw new FrSpecException($"{cfgFile}: this is an EAGLE-3 head (draft_vocab_size/target_hidden_size): load it as EAGLE-3 (DecodingMethod.Eagle3; CLI --method eagle3)");
            cfg = ModelConfig.Parse(root, cfgFile, requireArchitecture: false);
            bias = JsonFields.OptBool(root, "bias", cfgFile);
            qkvBias = JsonFields.OptBool(root, "qkv_bias", cfgFile);
        }

        if (cfg.NumLayers != 1) throw new FrSpecException($"{cfgFile}: num_hidden_layers is {cfg.NumLayers}; EAGLE-1/2 heads have exactly 1 layer");
        if (cfg.HiddenSize != target.HiddenSize)
            throw new FrSpecException($"{cfgFile}: hidden_size {cfg.HiddenSize} does not match the target model's {target.HiddenSize}");

        var tensors = EagleTensors.Open(dir);
        try
        {
            var usage = new TensorUsage(tensors);
            var t = PanelPackingSource.For(usage, compute ?? Compute.Default, tensors.CopiesMatrices);
            int h = cfg.HiddenSize, q = cfg.NumHeads * cfg.HeadDim, kv = cfg.NumKvHeads * cfg.HeadDim, inter = cfg.IntermediateSize;
            foreach (var n in t.Names)
                if (n.StartsWith("layers.", StringComparison.Ordinal) && !n.StartsWith("layers.0.", StringComparison.Ordinal))
                    throw new FrSpecException($"{tensors.Source}: tensor '{n}' belongs to a second layer; EAGLE-1/2 heads have one");
            if (t.Contains("layers.0.input_layernorm.weight"))
                throw new FrSpecException($"{tensors.Source}: tensor 'layers.0.input_layernorm.weight' is present; EAGLE-1/2 layer 0 has no input norm (is this an EAGLE-3 or a plain model?)");

            var fc = t.Matrix("fc.weight", h, 2 * h);
            // The reference builds fc with a bias unless config "bias" is false.
            float[]? fcBias = null;
            if (t.Contains("fc.bias")) fcBias = t.Vector("fc.bias", h);
            else if (bias ?? true)
                throw new FrSpecException($"{tensors.Source}: tensor 'fc.bias' is missing but {Path.GetFileName(cfgFile)} has 'bias' {(bias == null ? "absent (defaults to true)" : "true")}");

            bool hasQkvBias = t.Contains("layers.0.self_attn.q_proj.bias");
            if (qkvBias == true && !hasQkvBias)
                throw new FrSpecException($"{tensors.Source}: tensor 'layers.0.self_attn.q_proj.bias' is missing but config has qkv_bias true");
            var layer = DecoderLayer.Load(t, "layers.0.", h, inter, cfg.NumHeads, cfg.NumKvHeads, cfg.HeadDim, cfg.RmsNormEps, hasQkvBias, inputNorm: false);
            usage.RejectUnused(tensors.Source, IgnoredTensorSuffixes);
            return new EagleHead(tensors, fc, fcBias, layer, h, cfg.NumKvHeads, cfg.HeadDim, cfg.RopeTheta, compute ?? Compute.Default);
        }
        catch { tensors.Dispose(); throw; }
    }

    /// <summary>
    /// Runs n (token, feature) pairs at the given draft positions: x = fc([embedding(token) | feature]), then the layer,
    /// whose keys/values go to pending slots of <paramref name="cache"/> (mask over [cache.Length + n] slots; null =
    /// causal). Returns the outputs [n, hidden] (next features; the LM head input), valid until the next pass with
    /// <paramref name="state"/>.
    /// </summary>
    public ReadOnlySpan<float> Forward(ForwardState state, KvCache cache, WeightMatrix embedding, ReadOnlySpan<int> tokens, ReadOnlySpan<float> features,
        ReadOnlySpan<int> positions, AttentionMask? mask)
    {
        int n = tokens.Length, h = HiddenSize;
        if (positions.Length != n || features.Length < n * h) throw new ArgumentException("tokens, features and positions disagree");
        if (n == 0) return ReadOnlySpan<float>.Empty;
        using var pass = state.Enter(this);
        mask = AttentionMask.ForPass(mask, ref state.Causal, cache.Length, n);
        var b = state.Buffers;
        b.Ensure(n);
        if (state.Concat.Length < n * 2 * h) state.Concat = new float[Math.Max(n * 2 * h, state.Concat.Length * 2)];
        var concat = state.Concat;
        for (int t = 0; t < n; t++)
        {
            var row = concat.AsSpan(t * 2 * h, 2 * h);
            embedding.ReadRow(tokens[t], row[..h]);
            features.Slice(t * h, h).CopyTo(row[h..]);
        }
        MatMul.Multiply(_compute, concat, n, Fc, b.X, FcBias);
        Rope.Tables(positions, b.Cos, b.Sin);
        int first = cache.Append(n);
        Layer.Forward(_compute, b, n, cache, 0, first, mask);
        return b.X.AsSpan(0, n * h);
    }

    /// <summary>A draft KV cache (one layer) for this head, in the element type its attention runs on.</summary>
    public KvCache CreateCache(int capacity) => KvCache.For(_compute, Layer.KProj.Type, 1, NumKvHeads, HeadDim, capacity);

    /// <summary>Scratch for the forward passes of one caller (a session's drafter).</summary>
    public ForwardState CreateState() =>
        new(this, new ForwardBuffers(HiddenSize, Layer.NumHeads * HeadDim, NumKvHeads * HeadDim, Layer.GateProj.Rows, HeadDim));

    /// <summary>Bytes of weights one draft step reads, LM head excluded.</summary>
    public long WeightBytes => Fc.ByteCount + Layer.QProj.ByteCount + Layer.KProj.ByteCount + Layer.VProj.ByteCount + Layer.OProj.ByteCount
        + Layer.GateProj.ByteCount + Layer.UpProj.ByteCount + Layer.DownProj.ByteCount;

    public void Dispose() => _tensors.Dispose();
}
