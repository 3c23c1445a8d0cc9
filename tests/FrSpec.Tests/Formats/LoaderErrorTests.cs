using System.Text;
using FrSpec.Formats;
using FrSpec.Model;

namespace FrSpec.Tests.Formats;

/// <summary>Every way a model directory can be broken gives a FrSpecException naming the file, tensor or field.</summary>
public class LoaderErrorTests
{
    private static string CopyOfTinyModel()
    {
        string src = TestModels.Dir(TestModels.TinyQwen());
        string dst = TestModels.NewTempDir();
        foreach (var f in Directory.GetFiles(src)) File.Copy(f, Path.Combine(dst, Path.GetFileName(f)));
        return dst;
    }

    private static FrSpecException LoadFails(string dir) => Assert.Throws<FrSpecException>(() => Transformer.Load(dir).Dispose());

    [Fact]
    public void MissingDirectoryConfigOrWeights()
    {
        Assert.Contains("not found", LoadFails("/nonexistent/model").Message);
        string d = CopyOfTinyModel();
        File.Delete(Path.Combine(d, "model.safetensors"));
        Assert.Contains("model.safetensors", LoadFails(d).Message);
        File.Delete(Path.Combine(d, "config.json"));
        Assert.Contains("config.json", LoadFails(d).Message);
    }

    [Fact]
    public void UnknownArchitectureIsNamed()
    {
        string d = CopyOfTinyModel();
        string cfg = Path.Combine(d, "config.json");
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("Qwen2ForCausalLM", "GPTNeoXForCausalLM"));
        var e = LoadFails(d);
        Assert.Contains("GPTNeoXForCausalLM", e.Message);
        Assert.Contains("architectures", e.Message);
    }

    [Fact]
    public void MissingConfigFieldIsNamed()
    {
        string d = CopyOfTinyModel();
        string cfg = Path.Combine(d, "config.json");
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("\"hidden_size\"", "\"hidden_sizes\""));
        Assert.Contains("hidden_size", LoadFails(d).Message);
    }

    [Fact]
    public void WrongShapeNamesTensorAndBothShapes()
    {
        string d = CopyOfTinyModel();
        string cfg = Path.Combine(d, "config.json");
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("\"intermediate_size\": 160", "\"intermediate_size\": 128"));
        var e = LoadFails(d);
        Assert.Contains("mlp.gate_proj.weight", e.Message);
        Assert.Contains("[160, 64]", e.Message);
        Assert.Contains("[128, 64]", e.Message);
    }

    [Fact]
    public void MissingTensorIsNamed()
    {
        string d = TestModels.NewTempDir();
        var spec = TestModels.TinyLlama(50);
        var tensors = FrSpec.Synthesis.ModelSynthesizer.Tensors(spec, FrSpec.Numerics.DType.F32, 1)
            .Where(t => t.Name != "model.layers.1.mlp.up_proj.weight").ToList();
        File.WriteAllText(Path.Combine(d, "config.json"), FrSpec.Synthesis.ModelSynthesizer.ConfigJson(spec, FrSpec.Numerics.DType.F32));
        SafetensorsWriter.WriteModel(d, tensors);
        Assert.Contains("model.layers.1.mlp.up_proj.weight", LoadFails(d).Message);
    }

    /// <summary>A TinyLlama directory whose weights get the extra tensors given (config unchanged).</summary>
    private static string WithExtraTensors(params string[] names)
    {
        string d = TestModels.NewTempDir();
        var spec = TestModels.TinyLlama(50);
        var tensors = FrSpec.Synthesis.ModelSynthesizer.Tensors(spec, FrSpec.Numerics.DType.F32, 1)
            .Concat(names.Select(n => TensorBlob.FromFloats(n, [8], new float[8], FrSpec.Numerics.DType.F32))).ToList();
        File.WriteAllText(Path.Combine(d, "config.json"), FrSpec.Synthesis.ModelSynthesizer.ConfigJson(spec, FrSpec.Numerics.DType.F32));
        SafetensorsWriter.WriteModel(d, tensors);
        return d;
    }

    [Fact]
    public void TensorsTheModelDoesNotUseAreNamed()
    {
        // e.g. MLP biases in a checkpoint whose config says mlp_bias false: running without them would be silently wrong
        var e = LoadFails(WithExtraTensors("model.layers.0.mlp.up_proj.bias", "model.layers.1.mlp.up_proj.bias"));
        Assert.Contains("'model.layers.0.mlp.up_proj.bias', 'model.layers.1.mlp.up_proj.bias'", e.Message);
        Assert.Contains("does not use", e.Message);
        // the documented allow-list: RoPE's inv_freq buffer, which older checkpoints saved, is recomputed
        Transformer.Load(WithExtraTensors("model.layers.0.self_attn.rotary_emb.inv_freq")).Dispose();
    }

    [Theory]
    [InlineData("\"rope_scaling\": null", "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}", "yarn")]
    [InlineData("\"rope_scaling\": null", "\"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 2.0}", "dynamic")]
    [InlineData("\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu\"", "hidden_act 'gelu'")]
    [InlineData("\"eos_token_id\": 2", "\"eos_token_id\": 50", "eos_token_id")]
    public void ConfigValuesTheEngineCannotHonourAreRejected(string from, string to, string named)
    {
        string d = TestModels.NewTempDir();
        var spec = TestModels.TinyLlama(50) with { Llama3RopeFactor = null };
        string config = FrSpec.Synthesis.ModelSynthesizer.ConfigJson(spec, FrSpec.Numerics.DType.F32);
        Assert.Contains(from, config);
        File.WriteAllText(Path.Combine(d, "config.json"), config.Replace(from, to));
        SafetensorsWriter.WriteModel(d, FrSpec.Synthesis.ModelSynthesizer.Tensors(spec, FrSpec.Numerics.DType.F32, 1));
        var e = LoadFails(d);
        Assert.Contains(named, e.Message);
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void RmsNormEpsDefaultsToTransformersValueEverywhere()
    {
        Assert.Equal(1e-6f, new ModelConfig
        {
            Architecture = "LlamaForCausalLM", ModelType = "llama", HiddenSize = 8, IntermediateSize = 8, NumLayers = 1, NumHeads = 1, NumKvHeads = 1, HeadDim = 8, VocabSize = 8,
        }.RmsNormEps);
        using var doc = System.Text.Json.JsonDocument.Parse("{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 8, \"intermediate_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 1, \"vocab_size\": 8}");
        Assert.Equal((float)ModelConfig.DefaultRmsNormEps, ModelConfig.Parse(doc.RootElement, "config.json").RmsNormEps);
        Assert.Equal(ModelConfig.DefaultRmsNormEps, new FrSpec.Synthesis.SynthSpec { Family = "llama3", HiddenSize = 8, IntermediateSize = 8, Layers = 1, Heads = 1, KvHeads = 1, VocabSize = 8 }.RmsNormEps);
    }

    [Fact]
    public void MistralSlidingWindowLimitsTheContext()
    {
        var spec = TestModels.TinyLlama() with { Family = "mistral", Llama3RopeFactor = null, TieWordEmbeddings = false, SlidingWindow = 16 };
        using var m = Transformer.Load(TestModels.Dir(spec));
        Assert.Equal(16, m.Config.SlidingWindow);
        var st = m.CreateState();
        var cache = m.CreateCache(32);
        m.Forward(st, cache, Enumerable.Range(0, 16).ToArray(), Enumerable.Range(0, 16).ToArray()); // positions 0..15: inside the window
        cache.CommitAll();
        var e = Assert.Throws<FrSpecException>(() => m.Forward(st, cache, [1], [16]));
        Assert.Contains("sliding_window of 16", e.Message);
        // Qwen2 declares a window but does not use it unless use_sliding_window is true
        using var q = Transformer.Load(TestModels.Dir(TestModels.TinyQwen()));
        Assert.Null(q.Config.SlidingWindow);
    }

    [Fact]
    public void UnsupportedDtypeIsNamed()
    {
        string d = TestModels.NewTempDir();
        var spec = TestModels.TinyLlama(50);
        var tensors = FrSpec.Synthesis.ModelSynthesizer.Tensors(spec, FrSpec.Numerics.DType.F32, 1)
            .Select(t => t.Name == "model.norm.weight" ? TensorBlob.FromBytes(t.Name, "I32", t.Shape, new byte[t.ByteLength]) : t).ToList();
        File.WriteAllText(Path.Combine(d, "config.json"), FrSpec.Synthesis.ModelSynthesizer.ConfigJson(spec, FrSpec.Numerics.DType.F32));
        SafetensorsWriter.WriteModel(d, tensors);
        var e = LoadFails(d);
        Assert.Contains("model.norm.weight", e.Message);
        Assert.Contains("I32", e.Message);
    }

    [Fact]
    public void TruncatedFileIsDetected()
    {
        string d = CopyOfTinyModel();
        string st = Path.Combine(d, "model.safetensors");
        var bytes = File.ReadAllBytes(st);
        File.WriteAllBytes(st, bytes[..(bytes.Length - 100)]);
        var e = LoadFails(d);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("model.safetensors", e.Message);
        File.WriteAllBytes(st, bytes[..5]);
        Assert.Contains("truncated", LoadFails(d).Message);
    }

    private static void WriteRaw(string path, string header, int dataBytes)
    {
        var hb = Encoding.UTF8.GetBytes(header);
        using var fs = File.Create(path);
        fs.Write(BitConverter.GetBytes((long)hb.Length));
        fs.Write(hb);
        fs.Write(new byte[dataBytes]);
    }

    [Fact]
    public void InconsistentHeadersAreRejected()
    {
        string d = TestModels.NewTempDir();
        string p = Path.Combine(d, "x.safetensors");
        WriteRaw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 16);
        Assert.Contains("'a'", Assert.Throws<FrSpecException>(() => SafetensorsFile.Open(p)).Message);
        WriteRaw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 16);
        Assert.Contains("overlaps", Assert.Throws<FrSpecException>(() => SafetensorsFile.Open(p)).Message);
        WriteRaw(p, "not json at all", 0);
        Assert.Contains("JSON", Assert.Throws<FrSpecException>(() => SafetensorsFile.Open(p)).Message);
        // absurd header length must not allocate
        File.WriteAllBytes(p, BitConverter.GetBytes(long.MaxValue - 5).Concat(new byte[16]).ToArray());
        Assert.Contains("header length", Assert.Throws<FrSpecException>(() => SafetensorsFile.Open(p)).Message);
        WriteRaw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
        Assert.Contains("shape", Assert.Throws<FrSpecException>(() => SafetensorsFile.Open(p)).Message);
    }

    [Fact]
    public void ShardIndexPointingOutsideTheFolderIsRejected()
    {
        string d = CopyOfTinyModel();
        File.Move(Path.Combine(d, "model.safetensors"), Path.Combine(d, "weights.bin"));
        File.WriteAllText(Path.Combine(d, "model.safetensors.index.json"), "{\"weight_map\":{\"model.norm.weight\":\"../../etc/passwd\"}}");
        Assert.Contains("plain file name", LoadFails(d).Message);
    }
}
