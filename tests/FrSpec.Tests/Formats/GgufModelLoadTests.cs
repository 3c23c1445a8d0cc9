using FrSpec.Formats.Gguf;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Synthesis;

namespace FrSpec.Tests.Formats;

/// <summary>
/// A GGUF loads as the same model as its safetensors source: identical config and bit-identical logits for exported
/// F32/F16/BF16 files (llama's reordered q/k rows put back, llama3 rope recognised, qwen2 biases and untied head), and
/// for quantized files the exact logits of the model whose weights are the decoded quantized values.
/// </summary>
public class GgufModelLoadTests
{
    private const int Vocab = 300;

    public static TheoryData<string, DType, WeightMemory> RoundTrips => new()
    {
        { "llama", DType.F32, WeightMemory.Mapped },
        { "llama", DType.F16, WeightMemory.HugePages },
        { "llama", DType.BF16, WeightMemory.Mapped },
        { "qwen", DType.F32, WeightMemory.HugePages },
        { "qwen", DType.F16, WeightMemory.Mapped },
        { "qwen", DType.BF16, WeightMemory.Mapped },
    };

    private static SynthSpec Spec(string family) => family == "llama" ? TestModels.TinyLlama(Vocab) : TestModels.TinyQwen(Vocab);

    [Theory, MemberData(nameof(RoundTrips))]
    public void ExportedGgufGivesIdenticalLogits(string family, DType dtype, WeightMemory memory)
    {
        var (dir, gguf) = GgufFixtures.Export(Spec(family), dtype);
        using var hf = Transformer.Load(dir, EngineOptions.Default with { WeightMemory = WeightMemory.Mapped });
        using var gg = Transformer.Load(gguf, EngineOptions.Default with { WeightMemory = memory });
        Assert.Equal(gguf, gg.Directory);
        AssertSameConfig(hf.Config, gg.Config);
        Assert.Equal(dtype, gg.Layers[0].QProj.Type);
        AssertSameLogits(hf, gg);
    }

    [Fact]
    public void Llama3RopeIsRecognisedFromRopeFreqs()
    {
        var (_, gguf) = GgufFixtures.Export(TestModels.TinyLlama(Vocab), DType.F32);
        using var f = GgufFile.Open(gguf);
        var c = GgufModelConfig.Read(f);
        Assert.Equal(new RopeScaling("llama3", 32, 1, 4, 8192), c.RopeScaling);
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal("LlamaForCausalLM", c.Architecture);
    }

    /// <summary>A Q4_K_M-like mix: Q4_K for most matrices, Q6_K for attn_v, ffn_down and the output head, Q4_0 for attn_output.</summary>
    internal static GgmlType? Mix(string name) =>
        name.EndsWith("attn_v.weight") || name.EndsWith("ffn_down.weight") || name == "output.weight" ? GgmlType.Q6_K
        : name.EndsWith("attn_output.weight") ? GgmlType.Q4_0
        : name.EndsWith(".weight") && !name.Contains("norm") && name != "rope_freqs.weight" ? GgmlType.Q4_K
        : null;

    [Theory]
    [InlineData("llama")]
    [InlineData("qwen")]
    public void QuantizedGgufComputesTheDecodedWeightsExactly(string family)
    {
        // K-quants need rows of 256: a wider tiny model.
        var spec = Spec(family) with { HiddenSize = 256, IntermediateSize = 512, Heads = 4, KvHeads = family == "llama" ? 2 : 1 };
        var (dir, gguf) = GgufFixtures.Export(spec, DType.F32);
        string quantized = GgufFixtures.Requantize(gguf, Mix);
        string reference = GgufFixtures.Dequantized(dir, Mix);
        // the exact precision: f32 activations against the decoded weights (the fast one quantizes activations to int8)
        using var hf = Transformer.Load(reference, EngineOptions.Default with { WeightMemory = WeightMemory.Mapped, Precision = Precision.Exact });
        using var gg = Transformer.Load(quantized, EngineOptions.Default with { WeightMemory = WeightMemory.Mapped, Precision = Precision.Exact });
        Assert.Equal(DType.Q4_K, gg.Layers[0].QProj.Type);
        Assert.Equal(DType.Q6_K, gg.Layers[0].VProj.Type);
        Assert.Equal(DType.Q4_0, gg.Layers[0].OProj.Type);
        Assert.Equal(DType.Q4_K, gg.Embedding.Type);
        Assert.Equal(family == "llama" ? DType.Q4_K : DType.Q6_K, gg.Head.Weight.Type);
        Assert.True(gg.WeightBytesPerToken() * 5 < hf.WeightBytesPerToken());   // f32 → ~4.5–6.6 bits per weight
        AssertSameLogits(hf, gg);
    }

    private static void AssertSameConfig(ModelConfig a, ModelConfig b)
    {
        Assert.Equal(a.ModelType, b.ModelType);
        Assert.Equal(a.Architecture, b.Architecture);
        Assert.Equal((a.HiddenSize, a.IntermediateSize, a.NumLayers, a.NumHeads, a.NumKvHeads, a.HeadDim, a.VocabSize),
            (b.HiddenSize, b.IntermediateSize, b.NumLayers, b.NumHeads, b.NumKvHeads, b.HeadDim, b.VocabSize));
        Assert.Equal((a.RmsNormEps, a.RopeTheta, a.RopeScaling, a.MaxPositions, a.TieWordEmbeddings, a.AttentionBias),
            (b.RmsNormEps, b.RopeTheta, b.RopeScaling, b.MaxPositions, b.TieWordEmbeddings, b.AttentionBias));
    }

    /// <summary>Prefill of 10 tokens then two decode steps: every logit bit-identical.</summary>
    private static void AssertSameLogits(Transformer a, Transformer b)
    {
        var tokens = new[] { 3, 17, 250, 299, 0, 42, 42, 7, 128, 64, 5, 296 };
        var la = Logits(a, tokens);
        var lb = Logits(b, tokens);
        Assert.Equal(la.Length, lb.Length);
        for (int i = 0; i < la.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(la[i]) == BitConverter.SingleToInt32Bits(lb[i]), $"logit {i}: {la[i]} vs {lb[i]}");
        Assert.True(la.Max() - la.Average() > 0.1f);   // not degenerate
    }

    private static float[] Logits(Transformer m, int[] tokens)
    {
        int h = m.Config.HiddenSize, v = m.Config.VocabSize;
        var cache = m.CreateCache(32);
        var state = m.CreateState();
        var outputs = new List<float>();
        var hidden = m.Forward(state, cache, tokens.AsSpan(0, 10), Enumerable.Range(0, 10).ToArray()).ToArray();
        cache.CommitAll();
        for (int t = 10; t < tokens.Length; t++)
        {
            hidden = hidden.Concat(m.Forward(state, cache, tokens.AsSpan(t, 1), [t]).ToArray()).ToArray();
            cache.CommitAll();
        }
        var logits = new float[tokens.Length * v];
        m.Head.Compute(hidden, tokens.Length, logits);
        return logits;
    }
}
