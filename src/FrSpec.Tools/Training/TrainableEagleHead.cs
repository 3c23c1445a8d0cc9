using System.Text.Json;
using System.Text.Json.Nodes;
using FrSpec.Formats;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Training;

/// <summary>
/// An EAGLE-1/2 draft head in f32 for training (docs/formats.md, "Draft forward"): x = fc([embedding(x_{t+1}) | f_t])
/// + b, then one decoder layer without input norm; its output should equal the target's next feature f_{t+1}. The target's
/// embedding and LM head are not part of it (frozen, supplied by the trainer). Saved in the published layout:
/// fc.weight [H, 2H], fc.bias, layers.0.* — no embed_tokens, no lm_head, no input_layernorm, no final norm.
/// </summary>
public sealed class TrainableEagleHead
{
    public ModelConfig Target { get; }
    public int Batch { get; }
    public int SeqLen { get; }
    public Parameter Fc { get; }
    public Parameter FcBias { get; }
    public TrainableLayer Layer { get; }

    private readonly int _tokens;
    private readonly float[] _in, _x, _dx, _cos, _sin;

    public TrainableEagleHead(ModelConfig target, int batch, int seqLen)
    {
        Target = target; Batch = batch; SeqLen = seqLen; _tokens = batch * seqLen;
        int H = target.HiddenSize, T = _tokens, hd = target.HeadDim;
        var fc = Layout(target).Take(2).Select(l => new Parameter(l)).ToArray();
        (Fc, FcBias) = (fc[0], fc[1]);
        Layer = new TrainableLayer(LayerPrefix, LayerShapeFor(target), batch, seqLen);
        _in = new float[T * 2 * H]; _x = new float[T * H]; _dx = new float[T * H];
        var rope = new Rope(hd, target.RopeTheta); // plain RoPE with the head's θ (= the target's), as the reference
        var positions = Enumerable.Range(0, T).Select(t => t % seqLen).ToArray();
        _cos = new float[T * hd / 2]; _sin = new float[T * hd / 2];
        rope.Tables(positions, _cos, _sin);
    }

    private const string LayerPrefix = "layers.0.";

    private static LayerShape LayerShapeFor(ModelConfig target) => new(target.HiddenSize, target.IntermediateSize, target.NumHeads, target.NumKvHeads,
        target.HeadDim, target.RmsNormEps, QkvBias: target.ModelType == "qwen2", InputNorm: false);

    /// <summary>The parameters of a head for <paramref name="target"/>, in <see cref="Parameters"/> order: fc.weight, fc.bias, then the layer's.</summary>
    public static IEnumerable<ParameterLayout> Layout(ModelConfig target)
    {
        int H = target.HiddenSize;
        yield return new("fc.weight", [H, 2 * H], Decay: true);
        yield return new("fc.bias", [H], Decay: false);
        foreach (var l in TrainableLayer.Layout(LayerPrefix, LayerShapeFor(target))) yield return l;
    }

    /// <summary>
    /// What <see cref="LoadWeights"/> would fail on, found without allocating or reading a weight: a one-line error naming the
    /// file and tensor when the head saved in <paramref name="dir"/> lacks a tensor of the layout for <paramref name="target"/>,
    /// holds it with another shape, or in a dtype the engine does not read.
    /// </summary>
    public static void CheckWeights(string dir, ModelConfig target)
    {
        using var store = TensorStore.Open(dir);
        foreach (var l in Layout(target))
        {
            var (file, entry) = store.Find(l.Name);
            if (!entry.Shape.AsSpan().SequenceEqual(l.Shape))
                throw new FrSpecException($"{file.Path}: tensor '{l.Name}' has shape [{string.Join(", ", entry.Shape)}], the target's config needs [{string.Join(", ", l.Shape)}]");
            SafetensorsFile.ToDType(file.Path, entry);
        }
    }

    public IEnumerable<Parameter> Parameters()
    {
        yield return Fc; yield return FcBias;
        foreach (var p in Layer.Parameters()) yield return p;
    }

    public void Initialize(ulong seed)
    {
        Fc.InitNormal(seed, 0.02f);
        FcBias.InitConstant(0f);
        Layer.Initialize(seed, totalLayers: 1);
    }

    /// <summary>
    /// Replaces every parameter with the tensor of the same name in the head saved in <paramref name="dir"/> (any dtype the
    /// engine reads, converted to f32), so training can continue from a published head. Each tensor must exist with this
    /// head's shape.
    /// </summary>
    public void LoadWeights(string dir)
    {
        using var store = TensorStore.Open(dir);
        foreach (var p in Parameters())
        {
            float[] v = p.Shape.Length == 1 ? store.Vector(p.Name, (int)p.Shape[0])
                : store.Matrix(p.Name, (int)p.Shape[0], (int)p.Shape[1]).ToFloatArray();
            v.CopyTo(p.Value, 0);
        }
    }

    /// <summary>
    /// Draft outputs [T, H] for token embeddings <paramref name="embeddings"/> [T, H] (of x_{t+1}) and target
    /// features <paramref name="features"/> [T, H] (f_t), T = Batch·SeqLen, each sequence at draft positions 0..S−1.
    /// </summary>
    public void Forward(float[] embeddings, float[] features, float[] output)
    {
        int H = Target.HiddenSize;
        for (int t = 0; t < _tokens; t++)
        {
            Array.Copy(embeddings, t * H, _in, t * 2 * H, H);
            Array.Copy(features, t * H, _in, t * 2 * H + H, H);
        }
        Linear.Forward(_in, _tokens, Fc, FcBias, _x);
        Layer.Forward(_x, output, _cos, _sin);
    }

    /// <summary>Accumulates parameter gradients from dLoss/dOutput (the frozen inputs get none).</summary>
    public void Backward(float[] dOutput)
    {
        Layer.Backward(dOutput, _dx, _cos, _sin);
        Linear.Backward(_in, _dx, _tokens, Fc, FcBias, Span<float>.Empty, accumulateDx: false);
    }

    /// <summary>Training FLOPs per draft position: 6·(fc + layer matrices + active head rows, once for the draft and once
    /// forward-only for the teacher's distribution) + attention.</summary>
    public double FlopsPerToken(int headRows)
    {
        var c = Target;
        double layer = (double)c.HiddenSize * c.HeadDim * (2 * c.NumHeads + 2 * c.NumKvHeads) + 3.0 * c.HiddenSize * c.IntermediateSize;
        double fc = 2.0 * c.HiddenSize * c.HiddenSize;
        double head = (double)headRows * c.HiddenSize;
        double attention = 2.0 * 2 * c.NumHeads * c.HeadDim * (SeqLen + 1) / 2.0;
        return 6 * (layer + fc) + 4 * head /* draft logits fwd + dHidden */ + 2 * head /* teacher logits */ + 3 * attention;
    }

    /// <summary>Writes config.json (Llama-style, one layer, bias/qkv_bias) and model.safetensors in the published EAGLE layout.</summary>
    public void Save(string dir, DType dtype)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), ConfigJson(Target, dtype));
        var blobs = Parameters().Select(p => TensorBlob.FromFloats(p.Name, p.Shape, p.Value, dtype)).ToList();
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), blobs, new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>The head's config.json: the keys EAGLE's reference code reads, dims and θ from the target.</summary>
    public static string ConfigJson(ModelConfig t, DType dtype)
    {
        bool qwen = t.ModelType == "qwen2";
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["bias"] = true,
            ["hidden_act"] = "silu",
            ["hidden_size"] = t.HiddenSize,
            ["intermediate_size"] = t.IntermediateSize,
            ["max_position_embeddings"] = t.MaxPositions,
            ["model_type"] = "llama",
            ["num_attention_heads"] = t.NumHeads,
            ["num_hidden_layers"] = 1,
            ["num_key_value_heads"] = t.NumKvHeads,
            ["rms_norm_eps"] = t.RmsNormEps,
            ["rope_theta"] = t.RopeTheta,
            ["tie_word_embeddings"] = false,
            ["torch_dtype"] = DTypeInfo.HfName(dtype),
            ["vocab_size"] = t.VocabSize,
        };
        if (t.BosTokenId is int bos) o["bos_token_id"] = bos;
        if (t.EosTokenIds.Count > 0) o["eos_token_id"] = t.EosTokenIds.Count == 1 ? JsonValue.Create(t.EosTokenIds[0]) : new JsonArray(t.EosTokenIds.Select(e => (JsonNode)e!).ToArray());
        if (t.HeadDim * t.NumHeads != t.HiddenSize) o["head_dim"] = t.HeadDim;
        if (qwen) o["qkv_bias"] = true;
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
