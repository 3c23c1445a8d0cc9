using System.Text.Json;
using FrSpec.Formats;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Speculative;

/// <summary>
/// An EAGLE-3 draft head (docs/formats.md, "EAGLE-3 heads"): fc fuses the inputs of three target layers ([H, 3·Ht]);
/// one decoder layer attends over [input_layernorm(embedding) | hidden_norm(h)] (2H wide) and adds to h; a final norm
/// and an LM head of its own over a smaller draft vocabulary, mapped to target ids through d2t. The official files
/// name the layer `midlayer.`, SGLang/vLLM/speculators exports `layers.0.`; both load, from pytorch_model.bin or
/// model.safetensors. Immutable once loaded and shared by sessions.
/// </summary>
public sealed class Eagle3Head : IDisposable
{
    /// <summary>Draft hidden size H.</summary>
    public int HiddenSize { get; }
    public int NumKvHeads { get; }
    public int HeadDim { get; }
    /// <summary>The target layers whose inputs are fused, in concatenation order.</summary>
    public IReadOnlyList<int> TargetLayers { get; }
    /// <summary>Floats of target features per token: layers × the target's hidden size.</summary>
    public int FeatureWidth { get; }
    /// <summary>Rows of the draft LM head (draft_vocab_size).</summary>
    public int DraftVocabSize { get; }
    /// <summary>Where the weights came from.</summary>
    public string Source { get; }

    internal WeightMatrix Fc { get; }
    internal DecoderLayer Layer { get; }
    internal float[] InputNorm { get; }
    internal float[] HiddenNorm { get; }
    internal float[] FinalNorm { get; }
    internal float Eps { get; }
    internal Rope Rope { get; }
    /// <summary>speculators' norm_before_residual: the residual is the normed hidden state rather than the raw one.</summary>
    internal bool NormBeforeResidual { get; }
    /// <summary>The head's own embedding, when the file ships one; else the target's is used.</summary>
    internal WeightMatrix? OwnEmbedding { get; }
    /// <summary>The draft LM head over the draft vocabulary, logit i standing for target token i + d2t[i].</summary>
    internal LmHead Head { get; }
    /// <summary>Target token id of each draft-vocabulary row (ascending as EAGLE-3 builds them).</summary>
    internal int[] TokenIds { get; }

    private readonly EagleTensors _tensors;
    private readonly Compute _compute;

    private Eagle3Head(EagleTensors tensors, Compute compute, int hidden, int kvHeads, int headDim, IReadOnlyList<int> layers, int featureWidth,
        WeightMatrix fc, DecoderLayer layer, float[] inputNorm, float[] hiddenNorm, float[] finalNorm, float eps, Rope rope, bool normBeforeResidual,
        WeightMatrix? embedding, WeightMatrix lmHead, int[] tokenIds)
    {
        _tensors = tensors; _compute = compute;
        HiddenSize = hidden; NumKvHeads = kvHeads; HeadDim = headDim; TargetLayers = layers; FeatureWidth = featureWidth;
        Fc = fc; Layer = layer; InputNorm = inputNorm; HiddenNorm = hiddenNorm; FinalNorm = finalNorm; Eps = eps; Rope = rope;
        NormBeforeResidual = normBeforeResidual; OwnEmbedding = embedding; TokenIds = tokenIds;
        DraftVocabSize = lmHead.Rows;
        Head = new LmHead(compute, lmHead, tokenIds);
        Source = tensors.Source;
    }

    /// <summary>
    /// The target layers EAGLE-3's reference reads when the config names none: the inputs of layers 2, L/2 and L−3 in
    /// layer order, each once (a very shallow target yields fewer than three).
    /// </summary>
    public static IReadOnlyList<int> DefaultTargetLayers(int targetLayers) =>
        new[] { 2, targetLayers / 2, targetLayers - 3 }.Where(l => l >= 0 && l < targetLayers).Distinct().Order().ToArray();

    /// <summary>True when a head directory's config.json describes an EAGLE-3 head (draft_vocab_size, at the top or in a
    /// speculators-style transformer_layer_config).</summary>
    public static bool IsEagle3Directory(string dir)
    {
        string file = Path.Combine(dir, "config.json");
        if (!File.Exists(file)) return false;
        using var doc = JsonFields.ReadObject(file);
        var root = doc.RootElement;
        return root.TryGetProperty("draft_vocab_size", out _) || root.TryGetProperty("transformer_layer_config", out _)
            || JsonFields.Str(root, "speculators_model_type", file) == "eagle3";
    }

    /// <summary>
    /// Loads an EAGLE-3 head directory (config.json + pytorch_model.bin or model.safetensors) for a target, checking
    /// every shape against the config and the target (hidden size, layer count, vocabulary) and validating d2t/t2d.
    /// </summary>
    public static Eagle3Head Load(string dir, ModelConfig target, Compute? compute = null)
    {
        if (!Directory.Exists(dir)) throw new FrSpecException($"{dir}: EAGLE-3 head directory not found");
        string cfgFile = Path.Combine(dir, "config.json");
        if (!File.Exists(cfgFile)) throw new FrSpecException($"{cfgFile}: config.json not found (expected an EAGLE-3 head)");
        var c = Eagle3Config.Read(cfgFile, target);
        var tensors = EagleTensors.Open(dir);
        try
        {
            var t = new TensorUsage(tensors);
            string p = t.Contains("midlayer.self_attn.q_proj.weight") ? "midlayer." : "layers.0.";
            foreach (var n in t.Names)
                if ((n.StartsWith("layers.", StringComparison.Ordinal) && !n.StartsWith("layers.0.", StringComparison.Ordinal))
                    || (p == "midlayer." && n.StartsWith("layers.", StringComparison.Ordinal)))
                    throw new FrSpecException($"{tensors.Source}: tensor '{n}' belongs to a second draft layer; FrSpec runs EAGLE-3 heads with one");
            int h = c.Layer.HiddenSize, inter = c.Layer.IntermediateSize;
            var fc = t.Matrix("fc.weight", h, c.FeatureWidth);
            if (t.Contains("fc.bias")) throw new FrSpecException($"{tensors.Source}: tensor 'fc.bias' is present; EAGLE-3's fc has no bias");
            // the input norm is applied to the embedding half only (below), so the layer itself has none
            var layer = DecoderLayer.Load(t, p, h, inter, c.Layer.NumHeads, c.Layer.NumKvHeads, c.Layer.HeadDim, c.Layer.RmsNormEps,
                qkvBias: t.Contains(p + "self_attn.q_proj.bias"), inputNorm: false, attentionInput: 2 * h);
            var inputNorm = t.Vector(p + "input_layernorm.weight", h);
            var hiddenNorm = t.Vector(p + "hidden_norm.weight", h);
            var finalNorm = t.Vector("norm.weight", h);
            var lmHead = t.Matrix("lm_head.weight", c.DraftVocabSize, h);
            int[] ids = TokenMap(tensors, c.DraftVocabSize, target.VocabSize);
            WeightMatrix? embedding = null;
            if (t.Contains("embed_tokens.weight")) embedding = t.Matrix("embed_tokens.weight", target.VocabSize, h);
            else if (h != target.HiddenSize)
                throw new FrSpecException($"{tensors.Source}: the head's hidden size {h} differs from the target's {target.HiddenSize} and the head ships no embed_tokens.weight");
            t.RejectUnused(tensors.Source, [".rotary_emb.inv_freq", "d2t", "t2d"]); // the maps are read by TokenMap
            var rope = new Rope(c.Layer.HeadDim, c.Layer.RopeTheta, c.Layer.RopeScaling);
            return new Eagle3Head(tensors, compute ?? Compute.Default, h, c.Layer.NumKvHeads, c.Layer.HeadDim, c.TargetLayers, c.FeatureWidth, fc, layer,
                inputNorm, hiddenNorm, finalNorm, c.Layer.RmsNormEps, rope, c.NormBeforeResidual, embedding, lmHead, ids);
        }
        catch { tensors.Dispose(); throw; }
    }

    /// <summary>
    /// Target ids of the draft vocabulary: i + d2t[i] (docs/formats.md, "EAGLE-3 heads"), in range and distinct; t2d,
    /// when present, must mark exactly those ids. A draft vocabulary as large as the target's needs no map (identity).
    /// </summary>
    private static int[] TokenMap(EagleTensors t, int draftVocab, int vocab)
    {
        string source = t.Source;
        var ids = new int[draftVocab];
        if (!t.Contains("d2t"))
        {
            if (draftVocab != vocab) throw new FrSpecException($"{source}: tensor 'd2t' is missing but draft_vocab_size {draftVocab} differs from the target's vocabulary {vocab}");
            for (int i = 0; i < draftVocab; i++) ids[i] = i;
        }
        else
        {
            var d2t = t.Integers("d2t", draftVocab);
            var seen = new bool[vocab];
            for (int i = 0; i < draftVocab; i++)
            {
                long id = i + d2t[i];
                if (id < 0 || id >= vocab) throw new FrSpecException($"{source}: d2t[{i}] = {d2t[i]} maps draft token {i} to {id}, outside the target's vocabulary of {vocab}");
                if (seen[id]) throw new FrSpecException($"{source}: d2t maps two draft tokens to target token {id}");
                seen[id] = true;
                ids[i] = (int)id;
            }
            if (t.Contains("t2d"))
            {
                var t2d = t.Integers("t2d", vocab);
                for (int v = 0; v < vocab; v++)
                    if ((t2d[v] != 0) != seen[v])
                        throw new FrSpecException($"{source}: t2d[{v}] is {(t2d[v] != 0).ToString().ToLowerInvariant()} but d2t {(seen[v] ? "maps" : "does not map")} a draft token to {v}");
            }
        }
        if (t.Contains("t2d") && !t.Contains("d2t")) t.Integers("t2d", vocab); // accepted (and shape-checked) with an identity map
        return ids;
    }

    /// <summary>
    /// Runs n rows at the given draft positions. <paramref name="fromTarget"/>: <paramref name="features"/> are target
    /// layer inputs [n, FeatureWidth] and go through fc; otherwise they are this head's own earlier outputs [n, H]
    /// (EAGLE-3 feeds its pre-norm output back without fc). Keys/values go to pending cache slots (mask over
    /// [cache.Length + n] slots; null = causal). Returns the outputs [n, H], valid until the next pass with <paramref name="state"/>.
    /// </summary>
    internal ReadOnlySpan<float> Forward(ForwardState state, KvCache cache, WeightMatrix embedding, ReadOnlySpan<int> tokens, ReadOnlySpan<float> features,
        ReadOnlySpan<int> positions, AttentionMask? mask, bool fromTarget)
    {
        int n = tokens.Length, h = HiddenSize;
        int width = fromTarget ? FeatureWidth : h;
        if (positions.Length != n || features.Length < n * width) throw new ArgumentException("tokens, features and positions disagree");
        if (n == 0) return ReadOnlySpan<float>.Empty;
        using var pass = state.Enter(this);
        mask = AttentionMask.ForPass(mask, ref state.Causal, cache.Length, n);
        var b = state.Buffers;
        b.Ensure(n);
        var x = b.X.AsSpan(0, n * h);
        if (fromTarget) MatMul.Multiply(_compute, features, n, Fc, b.X);
        else features[..(n * h)].CopyTo(x);
        if (state.Concat.Length < n * 2 * h) state.Concat = new float[Math.Max(n * 2 * h, state.Concat.Length * 2)];
        var concat = state.Concat;
        var row = b.Normed.AsSpan(0, h);
        for (int t = 0; t < n; t++)
        {
            var dst = concat.AsSpan(t * 2 * h, 2 * h);
            embedding.ReadRow(tokens[t], row);
            Ops.RmsNorm(row, InputNorm, Eps, dst[..h]);
            var hidden = x.Slice(t * h, h);
            Ops.RmsNorm(hidden, HiddenNorm, Eps, dst[h..]);
            if (NormBeforeResidual) dst[h..].CopyTo(hidden);
        }
        Rope.Tables(positions, b.Cos, b.Sin);
        int first = cache.Append(n);
        Layer.Forward(_compute, b, concat.AsSpan(0, n * 2 * h), n, cache, 0, first, mask);
        return x;
    }

    /// <summary>The LM head's input rows: the final norm of n outputs, written to the state's scratch.</summary>
    internal ReadOnlySpan<float> Normed(ForwardState state, ReadOnlySpan<float> outputs, int n)
    {
        int h = HiddenSize;
        var b = state.Buffers;
        b.Ensure(n);
        var dst = b.Normed.AsSpan(0, n * h);
        for (int t = 0; t < n; t++) Ops.RmsNorm(outputs.Slice(t * h, h), FinalNorm, Eps, dst.Slice(t * h, h));
        return dst;
    }

    /// <summary>A draft KV cache (one layer) for this head, in the element type its attention runs on.</summary>
    public KvCache CreateCache(int capacity) => KvCache.For(_compute, Layer.KProj.Type, 1, NumKvHeads, HeadDim, capacity);

    /// <summary>Scratch for the forward passes of one caller (a session's drafter).</summary>
    public ForwardState CreateState() =>
        new(this, new ForwardBuffers(HiddenSize, Layer.NumHeads * HeadDim, NumKvHeads * HeadDim, Layer.GateProj.Rows, HeadDim));

    /// <summary>Bytes of weights one draft step reads past the first (no fc), LM head excluded.</summary>
    public long WeightBytes => Layer.QProj.ByteCount + Layer.KProj.ByteCount + Layer.VProj.ByteCount + Layer.OProj.ByteCount
        + Layer.GateProj.ByteCount + Layer.UpProj.ByteCount + Layer.DownProj.ByteCount;

    public void Dispose()
    {
        Head.Dispose();
        _tensors.Dispose();
    }
}
