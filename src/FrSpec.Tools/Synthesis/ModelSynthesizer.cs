using System.Text.Json;
using System.Text.Json.Nodes;
using FrSpec.Formats;
using FrSpec.Numerics;

namespace FrSpec.Synthesis;

/// <summary>
/// Writes a model directory in exact Hugging Face layout (config.json with the family's real keys, model.safetensors or
/// shards + index, tokenizer files, generation_config.json) with seeded random weights. Scales: projections
/// N(0, 1/√fan_in) so activations stay O(1), residual outputs shrunk by 1/√(2·layers), embedding/LM head scaled so
/// logits have a standard deviation near 2 (peaked, not uniform), norms 1 ± 0.1 so a missing norm weight is caught.
/// </summary>
public static class ModelSynthesizer
{
    public static void Write(SynthSpec spec, string outDir, DType dtype, ulong seed, string? tokenizerJson = null, long maxShardBytes = 2L << 30)
    {
        if (tokenizerJson != null && !File.Exists(tokenizerJson)) throw new FrSpecException($"{tokenizerJson}: tokenizer file not found");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "config.json"), ConfigJson(spec, dtype));
        File.WriteAllText(Path.Combine(outDir, "generation_config.json"), GenerationConfigJson(spec));
        if (tokenizerJson != null)
        {
            File.Copy(tokenizerJson, Path.Combine(outDir, "tokenizer.json"), overwrite: true);
            string cfg = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(tokenizerJson))!, "tokenizer_config.json");
            if (File.Exists(cfg)) File.Copy(cfg, Path.Combine(outDir, "tokenizer_config.json"), overwrite: true);
            else File.WriteAllText(Path.Combine(outDir, "tokenizer_config.json"), "{}");
        }
        SafetensorsWriter.WriteModel(outDir, Tensors(spec, dtype, seed), maxShardBytes);
    }

    /// <summary>The tensors of a model in HF order and naming, produced lazily.</summary>
    public static List<TensorBlob> Tensors(SynthSpec s, DType dtype, ulong seed)
    {
        int h = s.HiddenSize, hd = s.EffectiveHeadDim, q = s.Heads * hd, kv = s.KvHeads * hd, inter = s.IntermediateSize;
        float headStd = 2.0f / MathF.Sqrt(h);
        float residualScale = 1f / MathF.Sqrt(2f * s.Layers);
        bool qkvBias = s.Family == "qwen2" || s.AttentionBias;
        var list = new List<TensorBlob>();
        void Add(string name, long[] shape, float mean, float std) => list.Add(RandomWeights.Tensor(seed, name, name, shape, mean, std, dtype));

        Add("model.embed_tokens.weight", [s.VocabSize, h], 0f, headStd);
        for (int l = 0; l < s.Layers; l++)
        {
            string p = $"model.layers.{l}.";
            Add(p + "input_layernorm.weight", [h], 1f, 0.1f);
            Add(p + "self_attn.q_proj.weight", [q, h], 0f, 1f / MathF.Sqrt(h));
            Add(p + "self_attn.k_proj.weight", [kv, h], 0f, 1f / MathF.Sqrt(h));
            Add(p + "self_attn.v_proj.weight", [kv, h], 0f, 1f / MathF.Sqrt(h));
            if (qkvBias)
            {
                Add(p + "self_attn.q_proj.bias", [q], 0f, 0.1f);
                Add(p + "self_attn.k_proj.bias", [kv], 0f, 0.1f);
                Add(p + "self_attn.v_proj.bias", [kv], 0f, 0.1f);
            }
            Add(p + "self_attn.o_proj.weight", [h, q], 0f, residualScale / MathF.Sqrt(q));
            if (s.AttentionBias) Add(p + "self_attn.o_proj.bias", [h], 0f, 0.1f);
            Add(p + "post_attention_layernorm.weight", [h], 1f, 0.1f);
            Add(p + "mlp.gate_proj.weight", [inter, h], 0f, 1f / MathF.Sqrt(h));
            Add(p + "mlp.up_proj.weight", [inter, h], 0f, 1f / MathF.Sqrt(h));
            Add(p + "mlp.down_proj.weight", [h, inter], 0f, residualScale / MathF.Sqrt(inter));
            if (s.MlpBias)
            {
                Add(p + "mlp.gate_proj.bias", [inter], 0f, 0.1f);
                Add(p + "mlp.up_proj.bias", [inter], 0f, 0.1f);
                Add(p + "mlp.down_proj.bias", [h], 0f, 0.1f);
            }
        }
        Add("model.norm.weight", [h], 1f, 0.1f);
        if (!s.TieWordEmbeddings) Add("lm_head.weight", [s.VocabSize, h], 0f, headStd);
        return list;
    }

    public static string ConfigJson(SynthSpec s, DType dtype)
    {
        var o = new JsonObject();
        bool qwen = s.Family == "qwen2";
        o["architectures"] = new JsonArray(s.Family switch { "qwen2" => "Qwen2ForCausalLM", "mistral" => "MistralForCausalLM", _ => "LlamaForCausalLM" });
        if (!qwen) o["attention_bias"] = s.AttentionBias;
        o["attention_dropout"] = 0.0;
        if (s.BosTokenId is int bos) o["bos_token_id"] = bos;
        o["eos_token_id"] = s.EosTokenIds.Length == 1 ? JsonValue.Create(s.EosTokenIds[0]) : new JsonArray(s.EosTokenIds.Select(e => (JsonNode)e!).ToArray());
        if (s.HeadDim is int hd) o["head_dim"] = hd;
        o["hidden_act"] = "silu";
        o["hidden_size"] = s.HiddenSize;
        o["initializer_range"] = 0.02;
        o["intermediate_size"] = s.IntermediateSize;
        o["max_position_embeddings"] = s.MaxPositions;
        if (qwen) o["max_window_layers"] = s.Layers;
        if (!qwen) o["mlp_bias"] = s.MlpBias;
        o["model_type"] = s.Family switch { "qwen2" => "qwen2", "mistral" => "mistral", _ => "llama" };
        o["num_attention_heads"] = s.Heads;
        o["num_hidden_layers"] = s.Layers;
        o["num_key_value_heads"] = s.KvHeads;
        if (!qwen) o["pretraining_tp"] = 1;
        o["rms_norm_eps"] = s.RmsNormEps;
        if (s.Llama3RopeFactor is double f)
            o["rope_scaling"] = new JsonObject
            {
                ["factor"] = f, ["high_freq_factor"] = 4.0, ["low_freq_factor"] = 1.0,
                ["original_max_position_embeddings"] = 8192, ["rope_type"] = "llama3",
            };
        else if (!qwen) o["rope_scaling"] = null;
        o["rope_theta"] = s.RopeTheta;
        if (qwen) o["sliding_window"] = s.MaxPositions;
        else if (s.Family == "mistral") o["sliding_window"] = s.SlidingWindow;
        o["tie_word_embeddings"] = s.TieWordEmbeddings;
        o["torch_dtype"] = DTypeInfo.HfName(dtype);
        o["transformers_version"] = "4.45.0";
        o["use_cache"] = true;
        if (qwen) o["use_sliding_window"] = false;
        o["vocab_size"] = s.VocabSize;
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    public static string GenerationConfigJson(SynthSpec s)
    {
        var o = new JsonObject();
        if (s.BosTokenId is int bos) o["bos_token_id"] = bos;
        o["do_sample"] = true;
        o["eos_token_id"] = s.EosTokenIds.Length == 1 ? JsonValue.Create(s.EosTokenIds[0]) : new JsonArray(s.EosTokenIds.Select(e => (JsonNode)e!).ToArray());
        o["temperature"] = 0.6;
        o["top_p"] = 0.9;
        o["transformers_version"] = "4.45.0";
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
