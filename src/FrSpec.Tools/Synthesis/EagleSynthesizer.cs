using System.Text.Json;
using System.Text.Json.Nodes;
using FrSpec.Formats;
using FrSpec.Formats.Torch;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Synthesis;

/// <summary>
/// Writes a seeded random EAGLE-1/2 head for a target model in the published layout (docs/formats.md, "EAGLE-1/2 heads"):
/// config.json (a Llama config with num_hidden_layers 1, "bias", and "qkv_bias" for Qwen2 targets) and
/// model.safetensors or pytorch_model.bin with fc.weight [H, 2H] (+ fc.bias), layers.0.* without input_layernorm,
/// and embed_tokens.weight copied from the target (present in published files, ignored by the loader).
/// Llama-3 targets get bias false (like EAGLE-LLaMA3-Instruct-8B); Qwen2 targets get fc and q/k/v biases.
/// </summary>
public static class EagleSynthesizer
{
    public static void Write(string targetDir, string outDir, string format = "safetensors", ulong seed = 1)
    {
        if (format != "safetensors" && format != "bin") throw new FrSpecException($"unknown head format '{format}' (expected bin or safetensors)");
        var target = ModelConfig.Load(targetDir);
        bool qwen = target.ModelType == "qwen2";
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "config.json"), ConfigJson(target, bias: qwen, qkvBias: qwen));

        var dtype = target.TorchDtype switch { "float32" => DType.F32, "float16" => DType.F16, _ => DType.BF16 };
        var tensors = Tensors(target, dtype, seed, fcBias: qwen, qkvBias: qwen);
        using var store = TensorStore.Open(targetDir);
        var (file, entry) = store.Find("model.embed_tokens.weight");
        tensors.Add(new TensorBlob("embed_tokens.weight", entry.DType, entry.Shape, () => ReadBytes(file, entry)));
        if (format == "safetensors")
            SafetensorsWriter.Write(Path.Combine(outDir, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        else
            EagleBinWriter.Write(Path.Combine(outDir, "pytorch_model.bin"), tensors);
    }

    private static unsafe byte[] ReadBytes(SafetensorsFile f, SafetensorsEntry e)
    {
        var bytes = new byte[e.End - e.Begin];
        new ReadOnlySpan<byte>((void*)f.DataPointer(e), bytes.Length).CopyTo(bytes);
        return bytes;
    }

    /// <summary>The head's own tensors (no embedding), seeded by name.</summary>
    public static List<TensorBlob> Tensors(ModelConfig c, DType dtype, ulong seed, bool fcBias, bool qkvBias)
    {
        int h = c.HiddenSize, q = c.NumHeads * c.HeadDim, kv = c.NumKvHeads * c.HeadDim, inter = c.IntermediateSize;
        float residual = 1f / MathF.Sqrt(2f);
        var list = new List<TensorBlob>();
        void Add(string name, long[] shape, float mean, float std) => list.Add(RandomWeights.Tensor(seed, name, "eagle." + name, shape, mean, std, dtype));
        Add("fc.weight", [h, 2 * h], 0f, 1f / MathF.Sqrt(2 * h));
        if (fcBias) Add("fc.bias", [h], 0f, 0.05f);
        const string p = "layers.0.";
        Add(p + "self_attn.q_proj.weight", [q, h], 0f, 1f / MathF.Sqrt(h));
        Add(p + "self_attn.k_proj.weight", [kv, h], 0f, 1f / MathF.Sqrt(h));
        Add(p + "self_attn.v_proj.weight", [kv, h], 0f, 1f / MathF.Sqrt(h));
        if (qkvBias)
        {
            Add(p + "self_attn.q_proj.bias", [q], 0f, 0.1f);
            Add(p + "self_attn.k_proj.bias", [kv], 0f, 0.1f);
            Add(p + "self_attn.v_proj.bias", [kv], 0f, 0.1f);
        }
        Add(p + "self_attn.o_proj.weight", [h, q], 0f, residual / MathF.Sqrt(q));
        Add(p + "mlp.gate_proj.weight", [inter, h], 0f, 1f / MathF.Sqrt(h));
        Add(p + "mlp.up_proj.weight", [inter, h], 0f, 1f / MathF.Sqrt(h));
        Add(p + "mlp.down_proj.weight", [h, inter], 0f, residual / MathF.Sqrt(inter));
        Add(p + "post_attention_layernorm.weight", [h], 1f, 0.1f);
        return list;
    }

    /// <summary>An EAGLE head config.json for the target (the keys the reference reads, with its conventions).</summary>
    public static string ConfigJson(ModelConfig t, bool bias, bool qkvBias, double? ropeTheta = null)
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["bias"] = bias,
            ["hidden_act"] = "silu",
            ["hidden_size"] = t.HiddenSize,
            ["intermediate_size"] = t.IntermediateSize,
            ["max_position_embeddings"] = 2048,
            ["model_type"] = "llama",
            ["num_attention_heads"] = t.NumHeads,
            ["num_hidden_layers"] = 1,
            ["num_key_value_heads"] = t.NumKvHeads,
            ["rms_norm_eps"] = t.RmsNormEps,
            ["rope_theta"] = ropeTheta ?? t.RopeTheta,
            ["torch_dtype"] = t.TorchDtype,
            ["vocab_size"] = t.VocabSize,
        };
        if (t.HeadDim * t.NumHeads != t.HiddenSize) o["head_dim"] = t.HeadDim;
        if (qkvBias) o["qkv_bias"] = true;
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}

/// <summary>Writes a head as a torch zip pickle (pytorch_model.bin, medusa_lm_head.pt), as torch.save(state_dict, path) does.</summary>
internal static class EagleBinWriter
{
    public static void Write(string path, IReadOnlyList<TensorBlob> tensors)
    {
        var list = tensors.Select(t => (t.Name, new TorchTensor(t.DType switch
        {
            "F32" => TorchDType.Float32,
            "F16" => TorchDType.Float16,
            "BF16" => TorchDType.BFloat16,
            "I64" => TorchDType.Int64,
            "BOOL" => TorchDType.Bool,
            _ => throw new FrSpecException($"tensor '{t.Name}': dtype {t.DType} cannot be written to a torch checkpoint here"),
        }, t.Shape, t.Produce()))).ToList();
        TorchCheckpointWriter.WriteStateDict(path, list, TorchArchiveName.FileStem);
    }
}
