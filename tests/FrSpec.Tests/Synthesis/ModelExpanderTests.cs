using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Synthesis;
using FrSpec.Tests.Speculative;

namespace FrSpec.Tests.Synthesis;

/// <summary>An expanded model must compute the small model's function at the big model's cost.</summary>
public class ModelExpanderTests
{
    // Small test models: hidden 64, 4 query / 2 KV heads of 16, FFN 128, 2 layers. The big shape gives 12 query heads
    // in groups of 3 over 4 KV heads, so the head mapping is not the identity.
    private static readonly ExpansionShape Big = new("test-shape", HiddenSize: 112, IntermediateSize: 200, Layers: 4,
        QueryWidth: 12 * 16, KeyValueWidth: 4 * 16, TieWordEmbeddings: true);

    private static readonly int[] Prompt = [5, 17, 42, 99, 3, 250, 7, 7, 311, 64, 12, 480, 2, 33];

    private static float[] Logits(Transformer m, int[] tokens)
    {
        var cache = m.CreateCache(64);
        var positions = Enumerable.Range(0, tokens.Length).ToArray();
        var hidden = m.Forward(m.CreateState(), cache, tokens, positions).ToArray();
        var logits = new float[tokens.Length * m.Config.VocabSize];
        m.Head.Compute(hidden, tokens.Length, logits);
        return logits;
    }

    private static string Expand(string small, ExpansionShape shape)
    {
        string dir = TinyModels.NewDir("expanded");
        ModelExpander.ExpandTarget(small, shape, dir);
        return dir;
    }

    [Theory]
    [InlineData("qwen2", false, DType.F32)]
    [InlineData("llama3", true, DType.F32)]
    [InlineData("qwen2", true, DType.BF16)]
    public void Expanded_model_has_the_small_models_logits_and_greedy_output(string family, bool tied, DType dtype)
    {
        string small = TinyModels.NewDir("small");
        ModelSynthesizer.Write(TinyModels.Spec(family, tied), small, dtype, seed: 7);
        string big = Expand(small, Big with { TieWordEmbeddings = tied });
        using var s = Transformer.Load(small);
        using var b = Transformer.Load(big);

        Assert.Equal(Big.HiddenSize, b.Config.HiddenSize);
        Assert.Equal(Big.Layers, b.Config.NumLayers);
        Assert.Equal(12, b.Config.NumHeads);
        Assert.Equal(4, b.Config.NumKvHeads);
        Assert.Equal(Big.IntermediateSize, b.Config.IntermediateSize);

        var ls = Logits(s, Prompt);
        var lb = Logits(b, Prompt);
        float worst = 0;
        for (int i = 0; i < ls.Length; i++) worst = Math.Max(worst, Math.Abs(ls[i] - lb[i]));
        Assert.True(worst <= 1e-4f, $"max |Δ logit| = {worst}");

        var options = new GenerationOptions { MaxNewTokens = 24 };
        Assert.Equal(Greedy(small, options), Greedy(big, options));
    }

    private static int[] Greedy(string dir, GenerationOptions options)
    {
        using var model = LanguageModel.Load(dir);
        using var session = model.CreateSession();
        return session.Generate(Prompt, options).Ids;
    }

    [Fact]
    public void Untied_real_shape_gets_a_separate_lm_head_copied_from_a_tied_embedding()
    {
        string small = TinyModels.Target("llama3", tied: true, seed: 9);
        string big = Expand(small, Big with { TieWordEmbeddings = false });
        using (var b = Transformer.Load(big))
        {
            Assert.False(b.Config.TieWordEmbeddings);
            Assert.NotSame(b.Embedding, b.Head.Weight);
        }
        var options = new GenerationOptions { MaxNewTokens = 16 };
        Assert.Equal(Greedy(small, options), Greedy(big, options));
    }

    [Theory]
    [InlineData("qwen2", false)]
    [InlineData("llama3", true)]
    public void Expanded_eagle_head_drafts_exactly_as_the_small_head(string family, bool tied)
    {
        string small = TinyModels.Target(family, tied, seed: 11);
        string smallHead = TinyModels.Head(small, 12);
        string big = Expand(small, Big with { TieWordEmbeddings = tied });
        string bigHead = TinyModels.NewDir("expanded-eagle");
        ModelExpander.ExpandEagle(smallHead, big, bigHead);

        using var s = LanguageModel.Load(small);
        using var b = LanguageModel.Load(big);
        var options = new GenerationOptions { MaxNewTokens = 40 };
        foreach (int[]? fr in new[] { null, Enumerable.Range(0, 200).ToArray() })
        {
            // one fixed tree for both: the automatic tree would choose by each model's own cost
            using var ds = s.CreateSession(DecodingMethod.Eagle(smallHead, fr == null ? null : s.Vocabulary.CreateDraftVocabulary(fr), TreeOptions.Default));
            using var db = b.CreateSession(DecodingMethod.Eagle(bigHead, fr == null ? null : b.Vocabulary.CreateDraftVocabulary(fr), TreeOptions.Default));
            var rs = ds.Generate(Prompt, options);
            var rb = db.Generate(Prompt, options);
            Assert.Equal(rs.Ids, rb.Ids);
            // Same drafts, same verification: every round accepts the same number of tokens.
            Assert.Equal(rs.AcceptLengths, rb.AcceptLengths);
        }
        Assert.Equal(Big.HiddenSize, ModelConfig.Load(bigHead).HiddenSize);
        Assert.Equal("test-shape", ModelExpander.TryReadExpansion(bigHead)!.Shape);
    }

    [Theory]
    [InlineData("qwen2", false, 1)]
    [InlineData("llama3", true, 2)]
    public void Expanded_medusa_heads_draft_exactly_as_the_small_heads(string family, bool tied, int layers)
    {
        string small = TinyModels.Target(family, tied, seed: 15);
        string smallHeads = TinyModels.NewDir("small-medusa");
        MedusaSynthesizer.Write(small, smallHeads, heads: 3, layers, "pt", seed: 16);
        string big = Expand(small, Big with { TieWordEmbeddings = tied });
        string bigHeads = TinyModels.NewDir("expanded-medusa");
        ModelExpander.ExpandMedusa(smallHeads, big, bigHeads);

        using var s = LanguageModel.Load(small);
        using var b = LanguageModel.Load(big);
        var tree = FrSpec.Speculative.MedusaTree.FromPaths([[0], [1], [0, 0], [0, 1], [0, 0, 0]]);
        var options = new GenerationOptions { MaxNewTokens = 40 };
        foreach (int[]? fr in new[] { null, Enumerable.Range(0, 200).ToArray() })
        {
            using var ds = s.CreateSession(DecodingMethod.Medusa(smallHeads, fr == null ? null : s.Vocabulary.CreateDraftVocabulary(fr), tree));
            using var db = b.CreateSession(DecodingMethod.Medusa(bigHeads, fr == null ? null : b.Vocabulary.CreateDraftVocabulary(fr), tree));
            var rs = ds.Generate(Prompt, options);
            var rb = db.Generate(Prompt, options);
            Assert.Equal(rs.Ids, rb.Ids);
            Assert.Equal(rs.AcceptLengths, rb.AcceptLengths);
        }
        Assert.Equal(layers, b.Medusa(bigHeads).Layers);
        Assert.Equal("test-shape", ModelExpander.TryReadExpansion(bigHeads)!.Shape);
    }

    [Fact]
    public void Shapes_that_cannot_hold_the_small_model_are_refused_by_name()
    {
        string small = TinyModels.Target("qwen2", tied: false, seed: 13);
        var narrow = Big with { Name = "narrow", HiddenSize = 32 };
        Assert.Contains("narrow", Assert.Throws<FrSpecException>(() => Expand(small, narrow)).Message);
        var oddHeads = Big with { Name = "odd", QueryWidth = 100 };
        Assert.Contains("head_dim 16", Assert.Throws<FrSpecException>(() => Expand(small, oddHeads)).Message);
        var fewKv = Big with { Name = "few-kv", KeyValueWidth = 16 };
        Assert.Contains("do not fit", Assert.Throws<FrSpecException>(() => Expand(small, fewKv)).Message);
        Assert.Contains("not an expanded model", Assert.Throws<FrSpecException>(() =>
            ModelExpander.ExpandEagle(TinyModels.Head(small, 14), small, TinyModels.NewDir("x"))).Message);
    }

    [Fact]
    public void Named_real_shapes_have_the_published_widths()
    {
        var q05 = ExpansionShape.Find("qwen2.5-0.5b");
        Assert.Equal((896, 4864, 24, 896, 128), (q05.HiddenSize, q05.IntermediateSize, q05.Layers, q05.QueryWidth, q05.KeyValueWidth));
        var q15 = ExpansionShape.Find("qwen2.5-1.5b");
        Assert.Equal((1536, 8960, 28, 1536, 256), (q15.HiddenSize, q15.IntermediateSize, q15.Layers, q15.QueryWidth, q15.KeyValueWidth));
        var q7 = ExpansionShape.Find("qwen2-7b");
        Assert.Equal((3584, 18944, 28, 3584, 512, false), (q7.HiddenSize, q7.IntermediateSize, q7.Layers, q7.QueryWidth, q7.KeyValueWidth, q7.TieWordEmbeddings));
        Assert.Contains("known:", Assert.Throws<FrSpecException>(() => ExpansionShape.Find("gpt-5")).Message);
    }
}
