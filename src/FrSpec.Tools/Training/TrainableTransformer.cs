using FrSpec.Formats;
using FrSpec.Numerics;
using FrSpec.Synthesis;

namespace FrSpec.Training;

/// <summary>
/// A small Llama/Qwen2 language model in f32 for training: embedding (tied with the LM head), decoder layers,
/// final RMSNorm, and next-token cross-entropy. One instance is built for a fixed batch × sequence length.
/// Saved as a normal Hugging Face directory that <see cref="Model.Transformer.Load"/> reads.
/// </summary>
public sealed class TrainableTransformer
{
    public SynthSpec Spec { get; }
    public int Batch { get; }
    public int SeqLen { get; }
    public Parameter Embedding { get; }
    public IReadOnlyList<TrainableLayer> Layers { get; }
    public Parameter FinalNorm { get; }

    private readonly int _tokens;
    private readonly float[] _x, _xf, _rf, _dx, _dPre, _cos, _sin, _row;
    private readonly int[] _inputs, _targets;
    private readonly VocabLoss _loss;
    private readonly HashSet<int>? _active;

    /// <param name="spec">Model shape (tied embeddings required).</param>
    /// <param name="batch">Sequences per step.</param>
    /// <param name="seqLen">Tokens per sequence (inputs; windows carry one more for the targets).</param>
    /// <param name="activeTokens">Token ids the training stream uses (null = all). Other embedding rows are kept at zero,
    /// which lets the loss skip them exactly (see <see cref="VocabLoss"/>).</param>
    public TrainableTransformer(SynthSpec spec, int batch, int seqLen, int[]? activeTokens = null)
    {
        if (!spec.TieWordEmbeddings) throw new FrSpecException("the trainer builds tied-embedding models only (tie_word_embeddings: true)");
        Spec = spec; Batch = batch; SeqLen = seqLen; _tokens = batch * seqLen;
        int H = spec.HiddenSize, T = _tokens, hd = spec.EffectiveHeadDim;
        Embedding = new Parameter("model.embed_tokens.weight", [spec.VocabSize, H], decay: true);
        var shape = new LayerShape(H, spec.IntermediateSize, spec.Heads, spec.KvHeads, hd, (float)spec.RmsNormEps, spec.Family == "qwen2", InputNorm: true);
        Layers = Enumerable.Range(0, spec.Layers).Select(l => new TrainableLayer($"model.layers.{l}.", shape, batch, seqLen)).ToArray();
        FinalNorm = new Parameter("model.norm.weight", [H], decay: false);
        _x = new float[T * H]; _xf = new float[T * H]; _rf = new float[T]; _dx = new float[T * H]; _row = new float[H];
        _dPre = new float[T * H];
        _inputs = new int[T]; _targets = new int[T];
        _loss = new VocabLoss(spec.VocabSize, H, activeTokens);
        _active = activeTokens == null ? null : new HashSet<int>(activeTokens);
        // RoPE tables: every sequence uses positions 0..S-1
        var rope = new Model.Rope(hd, spec.RopeTheta);
        var positions = Enumerable.Range(0, T).Select(t => t % seqLen).ToArray();
        _cos = new float[T * hd / 2]; _sin = new float[T * hd / 2];
        rope.Tables(positions, _cos, _sin);
    }

    public IEnumerable<Parameter> Parameters()
    {
        yield return Embedding;
        foreach (var l in Layers) foreach (var p in l.Parameters()) yield return p;
        yield return FinalNorm;
    }

    public void Initialize(ulong seed)
    {
        Embedding.InitNormal(seed, 0.02f);
        ZeroInactiveRows();
        foreach (var l in Layers) l.Initialize(seed, Layers.Count);
        FinalNorm.InitConstant(1f);
    }

    /// <summary>Zeroes the embedding rows of tokens outside the active set (their logits are then exactly 0).</summary>
    public void ZeroInactiveRows()
    {
        int H = Spec.HiddenSize;
        foreach (int id in _loss.InactiveIds()) Array.Clear(Embedding.Value, id * H, H);
    }

    /// <summary>Rows the softmax is computed over (|active tokens|, or the vocabulary).</summary>
    public int ActiveRows => _loss.ActiveRows;

    /// <summary>
    /// Forward over a batch of windows [Batch, SeqLen + 1] (inputs = first S tokens, targets = last S) and, when
    /// <paramref name="backward"/>, accumulates gradients of the mean loss. Returns the mean cross-entropy (nats/token).
    /// </summary>
    public double Step(ReadOnlySpan<int> windows, bool backward)
    {
        int S = SeqLen, T = _tokens, H = Spec.HiddenSize;
        if (windows.Length != Batch * (S + 1)) throw new ArgumentException($"expected {Batch}×{S + 1} tokens, got {windows.Length}");
        for (int b = 0; b < Batch; b++)
            for (int i = 0; i < S; i++)
            {
                _inputs[b * S + i] = windows[b * (S + 1) + i];
                _targets[b * S + i] = windows[b * (S + 1) + i + 1];
            }
        for (int t = 0; t < T; t++)
        {
            int id = _inputs[t];
            if ((uint)id >= (uint)Spec.VocabSize) throw new FrSpecException($"token id {id} is outside the vocabulary of {Spec.VocabSize}");
            Array.Copy(Embedding.Value, (long)id * H, _x, (long)t * H, H);
        }
        foreach (var layer in Layers) layer.Forward(_x, _x, _cos, _sin);
        RmsNormOp.Forward(_x, T, H, FinalNorm.Value, (float)Spec.RmsNormEps, _xf, _rf);
        double sum = _loss.Run(Embedding.Value, _xf, T, _targets, null, 1f / T, backward ? _dx : null, backward ? Embedding.Grad : null);
        if (!backward) return sum / T;

        // final norm, then layers in reverse; _dx holds dLoss/d(normed)
        var dPre = _dPre;
        RmsNormOp.Backward(_x, _dx, T, H, FinalNorm.Value, _rf, FinalNorm.Grad, dPre, accumulate: false, _row);
        for (int l = Layers.Count - 1; l >= 0; l--) Layers[l].Backward(dPre, dPre, _cos, _sin);
        // embedding rows (serial: a token can repeat); inactive rows stay zero (their gradient is dropped: the trained
        // model is the one with those rows fixed at zero)
        for (int t = 0; t < T; t++)
        {
            if (_active != null && !_active.Contains(_inputs[t])) continue;
            var g = Embedding.Grad.AsSpan((int)((long)_inputs[t] * H), H);
            System.Numerics.Tensors.TensorPrimitives.Add(g, dPre.AsSpan(t * H, H), g);
        }
        return sum / T;
    }

    /// <summary>Final-norm hidden states of the last forward [Batch·SeqLen, H] (what the engine's Forward returns).</summary>
    public ReadOnlySpan<float> LastHidden => _xf;

    /// <summary>Training FLOPs per token (forward + backward ≈ 3× forward): 6·(matrix params incl. the active LM-head rows) + attention.</summary>
    public double FlopsPerToken()
    {
        var s = Spec;
        int hd = s.EffectiveHeadDim;
        double perLayer = (double)s.HiddenSize * hd * (2 * s.Heads + 2 * s.KvHeads) + 3.0 * s.HiddenSize * s.IntermediateSize;
        double matmul = s.Layers * perLayer + (double)ActiveRows * s.HiddenSize;
        double attention = s.Layers * 2.0 * 2 * s.Heads * hd * (SeqLen + 1) / 2.0; // QKᵀ and P·V over the causal half
        return 6 * matmul + 3 * attention;
    }

    /// <summary>Writes an HF model directory: config.json, generation_config.json, model.safetensors (dtype), tokenizer files.</summary>
    public void SaveHf(string dir, DType dtype, string? tokenizerDir)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), ModelSynthesizer.ConfigJson(Spec, dtype));
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), ModelSynthesizer.GenerationConfigJson(Spec));
        if (tokenizerDir != null)
            foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" })
                if (File.Exists(Path.Combine(tokenizerDir, f))) File.Copy(Path.Combine(tokenizerDir, f), Path.Combine(dir, f), overwrite: true);
        var blobs = Parameters().Select(p => TensorBlob.FromFloats(p.Name, p.Shape, p.Value, dtype)).ToList();
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), blobs, new Dictionary<string, string> { ["format"] = "pt" });
    }
}
