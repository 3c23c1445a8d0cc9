using System.Text.Json;
using System.Text.Json.Nodes;
using FrSpec.Formats;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Sessions;
using FrSpec.Speculative;

namespace FrSpec.Synthesis;

/// <summary>The two published EAGLE-3 layouts synth-eagle writes.</summary>
public enum Eagle3Layout
{
    /// <summary>SafeAILab's release: config.json with draft_vocab_size at the top, pytorch_model.bin, layer named `midlayer.`.</summary>
    Official,
    /// <summary>vLLM speculators export: layer config nested under transformer_layer_config, model.safetensors, `layers.0.`.</summary>
    Speculators,
}

/// <summary>
/// Writes a seeded random EAGLE-3 head for a target in a published layout (docs/formats.md, "EAGLE-3 heads"): fc
/// [H, 3H] over the inputs of target layers 2, L/2 and L−3, the draft layer (q/k/v over 2H, input_layernorm,
/// hidden_norm, post_attention_layernorm), a final norm, an LM head over a draft vocabulary of N tokens and the
/// d2t (int64) / t2d (bool) maps. The draft vocabulary is the N most frequent tokens of the bundled counts when the
/// target's tokenizer has them, else the first N ids; the target's stop and chat-control ids are always in it.
/// </summary>
public static class Eagle3Synthesizer
{
    /// <summary>EAGLE-3's draft vocabulary for Llama-3.1-8B is 32,000 tokens; small test vocabularies get a quarter.</summary>
    public static int DefaultDraftVocabSize(int vocab) => Math.Min(32000, Math.Max(1, vocab / 4));

    /// <summary>
    /// Writes the head. <paramref name="targetLayers"/> names the fused target layers (written as
    /// eagle_aux_hidden_state_layer_ids, as vLLM reads it); null = EAGLE-3's default 2, L/2, L−3.
    /// </summary>
    public static void Write(string targetDir, string outDir, Eagle3Layout layout, ulong seed = 1, int? draftVocabSize = null, IReadOnlyList<int>? targetLayers = null)
    {
        var target = ModelConfig.Load(targetDir);
        int n = draftVocabSize ?? DefaultDraftVocabSize(target.VocabSize);
        if (n <= 0 || n > target.VocabSize) throw new FrSpecException($"draft vocabulary size {n} must be between 1 and {target.VocabSize}");
        var ids = DraftIds(targetDir, target.VocabSize, n);
        var layers = targetLayers ?? Eagle3Head.DefaultTargetLayers(target.NumLayers);
        var dtype = target.TorchDtype switch { "float32" => DType.F32, "float16" => DType.F16, _ => DType.BF16 };
        string p = layout == Eagle3Layout.Official ? "midlayer." : "layers.0.";
        var tensors = Tensors(target, layers.Count, ids.Length, p, dtype, seed);
        var d2t = new long[ids.Length];
        for (int i = 0; i < ids.Length; i++) d2t[i] = ids[i] - i;
        var t2d = new byte[target.VocabSize];
        foreach (int id in ids) t2d[id] = 1;
        tensors.Add(TensorBlob.FromBytes("d2t", "I64", [ids.Length], System.Runtime.InteropServices.MemoryMarshal.AsBytes(d2t.AsSpan()).ToArray()));
        tensors.Add(TensorBlob.FromBytes("t2d", "BOOL", [target.VocabSize], t2d));

        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "config.json"), ConfigJson(target, ids.Length, layout, DTypeInfo.HfName(dtype), targetLayers));
        if (layout == Eagle3Layout.Speculators)
            SafetensorsWriter.Write(Path.Combine(outDir, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        else
            EagleBinWriter.Write(Path.Combine(outDir, "pytorch_model.bin"), tensors);
    }

    /// <summary>N distinct target ids, ascending (EAGLE-3 sorts its draft vocabulary by id).</summary>
    private static int[] DraftIds(string targetDir, int vocab, int n)
    {
        var vocabulary = ModelVocabulary.Load(targetDir, vocab);
        DraftVocabulary subset;
        try { subset = vocabulary.FindDraftVocabulary(n); }
        catch (FrSpecException) { subset = vocabulary.CreateDraftVocabulary(Enumerable.Range(0, n)); }
        return subset.Ids.Order().ToArray();
    }

    private static List<TensorBlob> Tensors(ModelConfig c, int captured, int draftVocab, string p, DType dtype, ulong seed)
    {
        int h = c.HiddenSize, q = c.NumHeads * c.HeadDim, kv = c.NumKvHeads * c.HeadDim, inter = c.IntermediateSize;
        float residual = 1f / MathF.Sqrt(2f);
        var list = new List<TensorBlob>();
        // the random stream is named after the canonical (layers.0.) name, so both layouts of one seed hold the same weights
        void Add(string name, long[] shape, float mean, float std) =>
            list.Add(RandomWeights.Tensor(seed, name, "eagle3." + (name.StartsWith(p, StringComparison.Ordinal) ? "layers.0." + name[p.Length..] : name), shape, mean, std, dtype));
        Add("fc.weight", [h, captured * h], 0f, 1f / MathF.Sqrt(captured * h));
        Add(p + "self_attn.q_proj.weight", [q, 2 * h], 0f, 1f / MathF.Sqrt(2 * h));
        Add(p + "self_attn.k_proj.weight", [kv, 2 * h], 0f, 1f / MathF.Sqrt(2 * h));
        Add(p + "self_attn.v_proj.weight", [kv, 2 * h], 0f, 1f / MathF.Sqrt(2 * h));
        Add(p + "self_attn.o_proj.weight", [h, q], 0f, residual / MathF.Sqrt(q));
        Add(p + "mlp.gate_proj.weight", [inter, h], 0f, 1f / MathF.Sqrt(h));
        Add(p + "mlp.up_proj.weight", [inter, h], 0f, 1f / MathF.Sqrt(h));
        Add(p + "mlp.down_proj.weight", [h, inter], 0f, residual / MathF.Sqrt(inter));
        Add(p + "input_layernorm.weight", [h], 1f, 0.1f);
        Add(p + "hidden_norm.weight", [h], 1f, 0.1f);
        Add(p + "post_attention_layernorm.weight", [h], 1f, 0.1f);
        Add("norm.weight", [h], 1f, 0.1f);
        Add("lm_head.weight", [draftVocab, h], 0f, 2f / MathF.Sqrt(h));
        return list;
    }

    /// <summary>The head's config.json in the layout's shape.</summary>
    public static string ConfigJson(ModelConfig t, int draftVocab, Eagle3Layout layout, string torchDtype, IReadOnlyList<int>? targetLayers = null)
    {
        // the layer's config is an EAGLE-1/2 head's, without fc's bias flag
        var layer = JsonNode.Parse(EagleSynthesizer.ConfigJson(t, bias: false, qkvBias: false))!.AsObject();
        layer.Remove("bias");
        layer["architectures"] = new JsonArray(layout == Eagle3Layout.Official ? "LlamaForCausalLMEagle3" : "LlamaForCausalLM");
        layer["max_position_embeddings"] = t.MaxPositions;
        layer["tie_word_embeddings"] = false;
        layer["torch_dtype"] = torchDtype;
        JsonObject root;
        if (layout == Eagle3Layout.Official)
        {
            root = layer;
            root["draft_vocab_size"] = draftVocab;
        }
        else
        {
            root = new JsonObject
            {
                ["architectures"] = new JsonArray("Eagle3Speculator"),
                ["speculators_model_type"] = "eagle3",
                ["draft_vocab_size"] = draftVocab,
                ["norm_before_residual"] = false,
                ["target_hidden_size"] = t.HiddenSize,
                ["transformer_layer_config"] = layer,
            };
        }
        if (targetLayers != null) root["eagle_aux_hidden_state_layer_ids"] = new JsonArray(targetLayers.Select(l => (JsonNode)l).ToArray());
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
