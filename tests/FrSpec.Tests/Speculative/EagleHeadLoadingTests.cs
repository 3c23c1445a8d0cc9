using System.Text.Json.Nodes;
using FrSpec.Formats;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Synthesis;

namespace FrSpec.Tests.Speculative;

public class EagleHeadLoadingTests
{
    private static string Target(string family = "llama3") => TinyModels.Target(family, family == "llama3", 71);

    /// <summary>Writes a head with the given tensors and config edits.</summary>
    private static string WriteHead(ModelConfig target, Func<List<TensorBlob>, List<TensorBlob>> edit, Action<JsonObject>? config = null,
        bool fcBias = true, bool qkvBias = false)
    {
        string dir = TinyModels.NewDir("head");
        var cfg = JsonNode.Parse(EagleSynthesizer.ConfigJson(target, bias: fcBias, qkvBias: qkvBias))!.AsObject();
        config?.Invoke(cfg);
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJsonString());
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), edit(EagleSynthesizer.Tensors(target, DType.F32, 5, fcBias, qkvBias)));
        return dir;
    }

    private static string Error(Action a) => Assert.Throws<FrSpecException>(a).Message;

    [Fact]
    public void BinAndSafetensorsHeadsDecodeIdentically()
    {
        foreach (var family in new[] { "llama3", "qwen2" })
        {
            using var model = LanguageModel.Load(Target(family));
            var target = model.Target;
            string st = TinyModels.NewDir("st"), bin = TinyModels.NewDir("bin");
            EagleSynthesizer.Write(target.Directory, st, "safetensors", 9);
            EagleSynthesizer.Write(target.Directory, bin, "bin", 9);
            Assert.True(File.Exists(Path.Combine(bin, "pytorch_model.bin")));
            var h1 = model.EagleHead(st);
            var h2 = model.EagleHead(bin);
            Assert.Same(h1, model.EagleHead(st)); // loaded once per directory
            Assert.Equal(family == "qwen2", h1.FcBias != null);
            Assert.Equal(family == "qwen2", h2.Layer.QBias != null);
            Assert.Equal(h1.Fc.ToFloatArray(), h2.Fc.ToFloatArray());
            var tree = new TreeOptions { Depth = 3, TopK = 4, TotalTokens = 16 };
            using var a = model.CreateSession(DecodingMethod.Eagle(st, null, tree));
            using var b = model.CreateSession(DecodingMethod.Eagle(bin, null, tree));
            var opts = new GenerationOptions { MaxNewTokens = 20, Sampling = new SamplingOptions(1f, 0, 0.9f, 3) };
            var ra = a.Generate([1, 2, 3], opts);
            var rb = b.Generate([1, 2, 3], opts);
            Assert.Equal(ra.Ids, rb.Ids);
            Assert.Equal(ra.AcceptLengths, rb.AcceptLengths);
        }
    }

    [Fact]
    public void ModelPrefixAndInvFreqBuffersAreAccepted()
    {
        using var target = Transformer.Load(Target());
        string plain = WriteHead(target.Config, l => l);
        string prefixed = WriteHead(target.Config, l => [.. l.Select(t => t with { Name = "model." + t.Name }),
            TensorBlob.FromFloats("model.layers.0.self_attn.rotary_emb.inv_freq", [8], new float[8], DType.F32)]);
        using var h1 = EagleHead.Load(plain, target.Config);
        using var h2 = EagleHead.Load(prefixed, target.Config);
        Assert.Equal(h1.Layer.DownProj.ToFloatArray(), h2.Layer.DownProj.ToFloatArray());
    }

    [Fact]
    public void ClearErrorsForBrokenHeads()
    {
        using var target = Transformer.Load(Target());
        var c = target.Config;
        Assert.Contains("'layers.0.mlp.up_proj.weight' is missing",
            Error(() => EagleHead.Load(WriteHead(c, l => l.Where(t => t.Name != "layers.0.mlp.up_proj.weight").ToList()), c)));
        Assert.Contains("hidden_size 96 does not match the target model's 64",
            Error(() => EagleHead.Load(WriteHead(c, l => l, j => j["hidden_size"] = 96), c)));
        Assert.Contains("'fc.bias' is missing",
            Error(() => EagleHead.Load(WriteHead(c, l => l.Where(t => t.Name != "fc.bias").ToList(), j => j.Remove("bias")), c)));
        Assert.Contains("input_layernorm",
            Error(() => EagleHead.Load(WriteHead(c, l => [.. l, TensorBlob.FromFloats("layers.0.input_layernorm.weight", [64], new float[64], DType.F32)]), c)));
        Assert.Contains("q_proj.bias' is missing",
            Error(() => EagleHead.Load(WriteHead(c, l => l, j => j["qkv_bias"] = true), c)));
        Assert.Contains("num_hidden_layers is 2",
            Error(() => EagleHead.Load(WriteHead(c, l => l, j => j["num_hidden_layers"] = 2), c)));
        Assert.Contains("has shape [64, 64], expected [64, 128]",
            Error(() => EagleHead.Load(WriteHead(c, l => [.. l.Where(t => t.Name != "fc.weight"), TensorBlob.FromFloats("fc.weight", [64, 64], new float[64 * 64], DType.F32)]), c)));
        Assert.Contains("EAGLE-3",
            Error(() => EagleHead.Load(WriteHead(c, l => l, j => j["draft_vocab_size"] = 100), c)));
        string empty = TinyModels.NewDir("empty");
        File.WriteAllText(Path.Combine(empty, "config.json"), EagleSynthesizer.ConfigJson(c, true, false));
        Assert.Contains("no pytorch_model.bin or model.safetensors", Error(() => EagleHead.Load(empty, c)));
        Assert.Contains("'layers.0.mlp.gate_proj.bias'",
            Error(() => EagleHead.Load(WriteHead(c, l => [.. l, TensorBlob.FromFloats("layers.0.mlp.gate_proj.bias", [128], new float[128], DType.F32)]), c)));
        using var model = LanguageModel.Load(Target());
        Assert.Contains("outside the vocabulary", Error(() => model.Vocabulary.CreateDraftVocabulary([1, 2, 9999])));
        Assert.Contains("twice", Error(() => model.Vocabulary.CreateDraftVocabulary([1, 2, 1])));
    }

    [Fact]
    public void DraftRopeUsesTheHeadsOwnTheta()
    {
        using var target = Transformer.Load(Target());
        using var h = EagleHead.Load(WriteHead(target.Config, l => l, j => j["rope_theta"] = 12345.0), target.Config);
        Assert.Equal(12345.0, h.RopeTheta);
    }
}
