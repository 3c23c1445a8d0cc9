using FrSpec.Formats.Gguf;
using FrSpec.Formats;
using FrSpec.Generation;
using FrSpec.Numerics;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Synthesis;

namespace FrSpec.Tests.Speculative;

/// <summary>
/// Speculation on quantized GGUF targets written by `frspec quantize`: EAGLE-2 and FR-Spec heads (bf16 safetensors)
/// next to a Q8_0 or Q4_K_M target give exactly the target's greedy output in both precisions; and `--fr-size` finds
/// the bundled FR-Spec subsets for a GGUF whose tokenizer (from its metadata) is Llama-3's or Qwen3's.
/// </summary>
public class QuantizedSpeculationTests
{
    private static readonly int[][] Prompts = [[1, 2, 3], [17, 300, 5, 42, 99, 7, 250], [400]];

    /// <summary>A tiny model wide enough for K-quants, quantized; with an EAGLE head synthesized for it (bf16).</summary>
    private static (string Gguf, string Head) Pair(string family, bool tied, QuantizedFileType type, ulong seed)
    {
        string dir = TinyModels.NewDir($"q-{family}-{type}");
        string tok = FrSpec.Tests.Formats.GgufWriterTests.WriteTokenizer(Path.Combine(dir, "tok"));
        string model = Path.Combine(dir, "model");
        ModelSynthesizer.Write(TinyModels.Spec(family, tied, vocab: 512, layers: 2, hidden: 256), model, DType.BF16, seed, tokenizerJson: tok);
        string head = Path.Combine(dir, "eagle");
        EagleSynthesizer.Write(model, head, "safetensors", seed + 100);
        string gguf = Path.Combine(dir, $"model-{type}.gguf");
        GgufModelExporter.Write(model, gguf, null, type, overwrite: false, null);
        return (gguf, head);
    }

    [Theory]
    [InlineData("llama3", true, QuantizedFileType.Q8_0, Precision.Fast)]
    [InlineData("llama3", true, QuantizedFileType.Q4_K_M, Precision.Fast)]
    [InlineData("llama3", true, QuantizedFileType.Q4_K_M, Precision.Exact)]
    [InlineData("qwen2", false, QuantizedFileType.Q8_0, Precision.Exact)]
    [InlineData("qwen2", false, QuantizedFileType.Q4_K_M, Precision.Fast)]
    [InlineData("llama3", false, QuantizedFileType.Q4_0, Precision.Fast)]
    public void GreedySpeculationEqualsVanillaOnQuantizedTargets(string family, bool tied, QuantizedFileType type, Precision precision)
    {
        var (gguf, head) = Pair(family, tied, type, 31);
        using var model = LanguageModel.Load(gguf, EngineOptions.Default with { Precision = precision });
        Assert.True(DTypeInfo.IsQuantized(model.Target.Layers[0].QProj.Type));
        Assert.True(DTypeInfo.IsQuantized(model.Target.Head.Weight.Type));
        using var vanilla = model.CreateSession();
        var trees = new (TreeOptions Tree, int[]? Ids)[]
        {
            (new TreeOptions { Depth = 3, TopK = 4, TotalTokens = 16 }, null),
            (new TreeOptions { Depth = 4, TopK = 8, TotalTokens = 40 }, Enumerable.Range(0, 200).ToArray()),
            (new TreeOptions { Depth = 2, TopK = 3, TotalTokens = 8 }, [5, 9, 300]),
        };
        foreach (var (tree, ids) in trees)
        {
            var fr = ids == null ? null : model.Vocabulary.CreateDraftVocabulary(ids);
            using var spec = model.CreateSession(DecodingMethod.Eagle(head, fr, tree));
            foreach (var prompt in Prompts)
            {
                var expected = vanilla.Generate(prompt, new GenerationOptions { MaxNewTokens = 40 }).Ids;
                var r = spec.Generate(prompt, new GenerationOptions { MaxNewTokens = 40 });
                Assert.Equal(expected, r.Ids);
                Assert.Equal(r.Ids.Length - 1, r.AcceptLengths.Sum());
            }
        }
    }

    [Theory]
    [InlineData("llama3", "tiny-llama3")]
    [InlineData("qwen3", "tiny-qwen2")]
    public void FrSizeFindsTheBundledSubsetForAGgufTokenizer(string tokenizer, string preset)
    {
        string tokenizerJson = TestAssets.TokenizerJson(tokenizer);
        string dir = TinyModels.NewDir($"bundled-{tokenizer}");
        string model = Path.Combine(dir, "model");
        ModelSynthesizer.Write(SynthSpec.Preset(preset), model, DType.BF16, 5, tokenizerJson);
        string gguf = Path.Combine(dir, "file", "model.gguf");   // a folder without tokenizer.json: the GGUF's own tokenizer
        GgufModelExporter.Write(model, gguf, null, QuantizedFileType.Q8_0, overwrite: false, null);

        // the fingerprint table is right: recomputed from the very tokenizer.json whose SHA-256 the counts record
        var bundled = BundledSubsets.Find(tokenizerJson) ?? throw new InvalidOperationException($"{tokenizer}: no bundled counts");
        Assert.Equal(BundledSubsets.Vocabularies[bundled.Name],
            BundledSubsets.VocabularyFingerprint(FrSpec.Text.TokenizerLoader.Load(tokenizerJson), bundled.Counts.VocabSize));

        using var fromDir = LanguageModel.Load(model);
        using var fromGguf = LanguageModel.Load(gguf);
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(gguf)!, "tokenizer.json")));
        foreach (int size in new[] { 8192, 1000 })
        {
            var b = fromGguf.Vocabulary.FindDraftVocabulary(size);
            Assert.StartsWith($"bundled {tokenizer}", b.Source);
            // the same counts; each model keeps its own control ids (the GGUF's stop ids come from its metadata)
            var counts = new long[fromGguf.Vocabulary.Size];
            bundled.Counts.Counts.CopyTo(counts, 0);
            Assert.Equal(FrSpec.Frequency.FrequencySubset.FromCounts(counts, size, fromGguf.Vocabulary.ControlIds).Ids, b.Ids);
            Assert.StartsWith($"bundled {tokenizer}", fromDir.Vocabulary.FindDraftVocabulary(size).Source);
        }
        // the quantizer carried the chat template over
        Assert.NotNull(fromGguf.Vocabulary.ChatTemplate);
        // a freq_N.pt beside the GGUF wins over the bundled counts
        string freq = Path.Combine(Path.GetDirectoryName(gguf)!, "freq_16.pt");
        FrSpec.Formats.Torch.TorchCheckpointWriter.WriteIntList(freq, Enumerable.Range(100, 16).ToArray());
        var found = fromGguf.Vocabulary.FindDraftVocabulary(16);
        Assert.Equal(freq, found.Source);
        Assert.Contains(100, found.Ids);
    }
}
