using System.Text.Json;
using System.Text.Json.Nodes;
using FrSpec.Formats;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Synthesis;

/// <summary>
/// Writes Medusa-1 heads in the published layout (docs/formats.md, "Medusa heads"): config.json (medusa_num_heads,
/// medusa_num_layers, base_model_name_or_path, hidden_size, vocab_size) and medusa_lm_head.safetensors (or .pt)
/// holding {k}.{j}.linear.weight/bias and {k}.{layers}.weight per head. <see cref="Write"/> makes seeded random heads
/// whose LM heads start from the target's head, as Medusa initialises them; the trainer saves through
/// <see cref="WriteFiles"/>.
/// </summary>
public static class MedusaSynthesizer
{
    public static void Write(string targetDir, string outDir, int heads = 4, int layers = 1, string format = "safetensors", ulong seed = 1)
    {
        if (heads < 1 || heads > Speculative.MedusaHeads.MaxHeads) throw new FrSpecException($"--heads must be in [1, {Speculative.MedusaHeads.MaxHeads}], got {heads}");
        if (layers < 1 || layers > 8) throw new FrSpecException($"--layers must be in [1, 8], got {layers}");
        var target = ModelConfig.Load(targetDir);
        var dtype = target.TorchDtype switch { "float32" => DType.F32, "float16" => DType.F16, _ => DType.BF16 };
        int h = target.HiddenSize;
        using var store = TensorStore.Open(targetDir);
        string headName = store.Contains("lm_head.weight") ? "lm_head.weight" : "model.embed_tokens.weight";
        var baseHead = store.Matrix(headName, target.VocabSize, h).ToFloatArray();
        var blobs = new List<TensorBlob>();
        for (int k = 0; k < heads; k++)
        {
            for (int j = 0; j < layers; j++)
            {
                blobs.Add(RandomWeights.Tensor(seed, $"{k}.{j}.linear.weight", $"medusa.{k}.{j}.w", [h, h], 0f, 0.5f / MathF.Sqrt(h), dtype));
                blobs.Add(RandomWeights.Tensor(seed, $"{k}.{j}.linear.bias", $"medusa.{k}.{j}.b", [h], 0f, 0.05f, dtype));
            }
            // Medusa starts each head's LM head as a copy of the base model's; a seeded perturbation makes the heads differ.
            var values = (float[])baseHead.Clone();
            var noise = RandomWeights.Normal(seed, $"medusa.{k}.head", values.Length, 0f, 0.5f / MathF.Sqrt(h));
            for (int i = 0; i < values.Length; i++) values[i] += noise[i];
            blobs.Add(TensorBlob.FromFloats($"{k}.{layers}.weight", [target.VocabSize, h], values, dtype));
        }
        WriteFiles(outDir, target, Path.GetFullPath(targetDir), heads, layers, blobs, format);
    }

    /// <summary>config.json and the weight file (safetensors, or pt = a torch zip as Medusa's own releases).</summary>
    public static void WriteFiles(string outDir, ModelConfig target, string baseModel, int heads, int layers, IReadOnlyList<TensorBlob> blobs, string format)
    {
        if (format != "safetensors" && format != "pt") throw new FrSpecException($"unknown Medusa head format '{format}' (expected safetensors or pt)");
        Directory.CreateDirectory(outDir);
        var config = new JsonObject
        {
            ["medusa_num_heads"] = heads,
            ["medusa_num_layers"] = layers,
            ["base_model_name_or_path"] = baseModel,
            ["hidden_size"] = target.HiddenSize,
            ["vocab_size"] = target.VocabSize,
        };
        File.WriteAllText(Path.Combine(outDir, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        if (format == "safetensors")
            SafetensorsWriter.Write(Path.Combine(outDir, "medusa_lm_head.safetensors"), blobs, new Dictionary<string, string> { ["format"] = "pt" });
        else EagleBinWriter.Write(Path.Combine(outDir, "medusa_lm_head.pt"), blobs);
    }
}
