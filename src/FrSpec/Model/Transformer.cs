using FrSpec.Formats;
using FrSpec.Numerics;

namespace FrSpec.Model;

/// <summary>
/// A Llama/Mistral/Qwen2 causal language model loaded from a Hugging Face directory (config.json + safetensors) or a
/// llama.cpp GGUF file, with weights memory-mapped and used in place.
///
/// The forward pass is built for speculation: any number of new tokens with explicit positions and an explicit
/// attention mask over [cached + new] slots; it returns the final hidden states (after the final norm) and leaves
/// logits to an <see cref="LmHead"/>, so callers compute logits only for the rows — and vocabulary rows — they need.
/// Immutable once loaded: any number of threads may run passes at the same time, each with its own
/// <see cref="ForwardState"/> and <see cref="KvCache"/>.
/// </summary>
public sealed class Transformer : IDisposable
{
    public ModelConfig Config { get; }
    /// <summary>The model directory, or the .gguf file the model was loaded from.</summary>
    public string Directory { get; }
    public IReadOnlyList<DecoderLayer> Layers { get; }
    /// <summary>Token embedding [vocab, hidden].</summary>
    public WeightMatrix Embedding { get; }
    public float[] FinalNorm { get; }
    /// <summary>The full-vocabulary head (the embedding itself when tie_word_embeddings).</summary>
    public LmHead Head { get; }
    public Rope Rope { get; }
    /// <summary>Threads, kernels and precision this model computes with (from the <see cref="EngineOptions"/> it was loaded with).</summary>
    public Compute Compute { get; }

    private readonly IWeightStore _store;

    private Transformer(string dir, ModelConfig config, IWeightStore store, Compute compute)
    {
        Directory = dir; Config = config; _store = store; Compute = compute;
        var c = config;
        var usage = new TensorUsage(store);
        // the huge-page copy is writable: bf16 weights are repacked there for the generated kernels (still one copy)
        var s = PanelPackingSource.For(usage, compute, store.UsesHugePages);
        Embedding = s.Matrix("model.embed_tokens.weight", c.VocabSize, c.HiddenSize);
        var layers = new DecoderLayer[c.NumLayers];
        for (int l = 0; l < c.NumLayers; l++)
            layers[l] = DecoderLayer.Load(s, $"model.layers.{l}.", c.HiddenSize, c.IntermediateSize, c.NumHeads, c.NumKvHeads, c.HeadDim,
                c.RmsNormEps, c.AttentionBias, c.AttentionOutputBias, c.MlpBias);
        Layers = layers;
        FinalNorm = s.Vector("model.norm.weight", c.HiddenSize);
        WeightMatrix head;
        if (s.Contains("lm_head.weight")) head = s.Matrix("lm_head.weight", c.VocabSize, c.HiddenSize);
        else if (c.TieWordEmbeddings) head = Embedding;
        else throw new FrSpecException($"{dir}: tensor 'lm_head.weight' is missing and tie_word_embeddings is false");
        usage.RejectUnused(dir, IgnoredTensorSuffixes);
        Head = new LmHead(compute, head);
        Rope = new Rope(c.HeadDim, c.RopeTheta, c.RopeScaling);
    }

    /// <summary>
    /// Tensors a checkpoint may hold that the model recomputes instead of reading (older transformers saved RoPE's
    /// inv_freq buffer); any other tensor the model does not read is an error.
    /// </summary>
    public static IReadOnlyList<string> IgnoredTensorSuffixes { get; } = [".rotary_emb.inv_freq"];

    /// <summary>True when the weights were copied into huge-page memory (see <see cref="WeightMemory"/>).</summary>
    public bool UsesHugePages => _store.UsesHugePages;

    /// <summary>
    /// Loads a model directory (config.json, model.safetensors or sharded with an index) or a .gguf file (llama and
    /// qwen2 architectures; docs/gguf.md). Weights are memory-mapped and used in place, or with
    /// <see cref="WeightMemory.HugePages"/> (the default) copied once into transparent huge pages (faster decode on Linux).
    /// </summary>
    public static Transformer Load(string dir, EngineOptions? options = null)
    {
        options ??= EngineOptions.Default;
        var compute = Numerics.Compute.Create(options);
        ModelConfig config;
        IWeightStore store;
        if (Formats.Gguf.GgufFile.IsGgufPath(dir))
        {
            var gguf = Formats.Gguf.GgufTensorStore.Open(dir);
            (config, store) = (gguf.Config, gguf);
        }
        else
        {
            if (!System.IO.Directory.Exists(dir)) throw new FrSpecException($"{dir}: model directory (or .gguf file) not found");
            config = ModelConfig.Load(dir);
            store = TensorStore.Open(dir);
        }
        if (options.WeightMemory != WeightMemory.Mapped) store.UseHugePages();
        try { return new Transformer(dir, config, store, compute); }
        catch { store.Dispose(); throw; }
    }

    /// <summary>A KV cache sized for this model, in the element type its attention runs on (bf16 in the fast precision on
    /// vdpbf16ps kernels when the weights are not f32, f32 otherwise).</summary>
    public KvCache CreateCache(int capacity) => KvCache.For(Compute, Layers[0].KProj.Type, Config.NumLayers, Config.NumKvHeads, Config.HeadDim, capacity);

    /// <summary>Scratch for the forward passes of one caller (a session); grown on demand, reused by every pass.</summary>
    public ForwardState CreateState()
    {
        var c = Config;
        return new ForwardState(this, new ForwardBuffers(c.HiddenSize, c.NumHeads * c.HeadDim, c.NumKvHeads * c.HeadDim, c.IntermediateSize, c.HeadDim));
    }

    /// <summary>Bytes of weights one decode step reads (all layers, final norm, full LM head).</summary>
    public long WeightBytesPerToken()
    {
        long b = Head.Weight.ByteCount;
        foreach (var l in Layers)
            b += l.QProj.ByteCount + l.KProj.ByteCount + l.VProj.ByteCount + l.OProj.ByteCount + l.GateProj.ByteCount + l.UpProj.ByteCount + l.DownProj.ByteCount;
        return b;
    }

    /// <summary>
    /// Processes <paramref name="tokens"/> at <paramref name="positions"/>: their keys/values are appended to the cache as
    /// pending slots (commit or roll them back afterwards). <paramref name="mask"/> says what each token sees among
    /// [cache.Length + new] slots; null means causal after everything cached. Returns the final-norm hidden states
    /// [n, hidden], valid until the next pass with <paramref name="state"/>. When the state carries a
    /// <see cref="ForwardState.Capture"/>, the inputs of its layers are kept from this same pass.
    /// </summary>
    public ReadOnlySpan<float> Forward(ForwardState state, KvCache cache, ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, AttentionMask? mask = null)
    {
        int n = tokens.Length, hidden = Config.HiddenSize;
        if (positions.Length != n) throw new ArgumentException($"{positions.Length} positions for {n} tokens");
        if (n == 0) return ReadOnlySpan<float>.Empty;
        CheckPositions(positions);
        using var pass = state.Enter(this);
        mask = AttentionMask.ForPass(mask, ref state.Causal, cache.Length, n);

        var b = state.Buffers;
        b.Ensure(n);
        b.Profile?.Start();
        foreach (int id in tokens)
            if ((uint)id >= (uint)Config.VocabSize) throw new FrSpecException($"token id {id} is outside the vocabulary of {Config.VocabSize}");
        b.RowWork.Embed(Compute, b, Embedding, tokens);
        Rope.Tables(positions, b.Cos, b.Sin);
        b.Profile?.End(PassProfile.Phase.Embedding);
        int first = cache.Append(n);
        var capture = state.Capture;
        if (capture != null && capture.Hidden != hidden) throw new ArgumentException("the state's layer capture was made for another hidden size");
        capture?.Begin(n);
        for (int l = 0; l < Layers.Count; l++)
        {
            capture?.Take(l, b.X.AsSpan(0, n * hidden), n);
            Layers[l].Forward(Compute, b, n, cache, l, first, mask);
        }
        b.Profile?.Start();
        for (int t = 0; t < n; t++)
            Ops.RmsNorm(b.X.AsSpan(t * hidden, hidden), FinalNorm, Config.RmsNormEps, b.Normed.AsSpan(t * hidden, hidden));
        b.Profile?.End(PassProfile.Phase.Norms);
        if (!NonFinite.AllFinite(b.Normed.AsSpan(0, n * hidden))) throw NonFinite.Locate(this, b, cache, tokens, positions, first, mask);
        return b.Normed.AsSpan(0, n * hidden);
    }

    /// <summary>Refuses positions beyond a sliding window (inside it, full attention equals sliding-window attention).</summary>
    internal void CheckPositions(ReadOnlySpan<int> positions)
    {
        if (Config.SlidingWindow is int window)
            foreach (int p in positions)
                if (p >= window)
                    throw new FrSpecException($"{Directory}: position {p} is beyond the model's sliding_window of {window} tokens; FrSpec attends to the whole context, which equals sliding-window attention only inside the window");
    }

    public void Dispose()
    {
        Head.Dispose();
        _store.Dispose();
    }
}
