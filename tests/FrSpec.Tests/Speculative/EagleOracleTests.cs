using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Speculative;

namespace FrSpec.Tests.Speculative;

/// <summary>The real EAGLE drafter with a head that reproduces its one-layer target (see <see cref="IdentityEagle"/>).</summary>
public class EagleOracleTests
{
    /// <summary>
    /// EAGLE never feeds the first prompt token to the draft (pair t holds x_{t+1}), so the identity head equals the
    /// target run on the sequence without its first token. Every node's best child must be that model's argmax after
    /// the node's path: this checks the draft cache, positions, tree mask, frontier features and reranking.
    /// </summary>
    [Theory]
    [InlineData("llama3", 61UL, 3, 1, 5)]
    [InlineData("llama3", 61UL, 3, 4, 30)]
    [InlineData("qwen2", 62UL, 4, 3, 40)]
    public void DraftTreeFollowsTheTargetOnTheShiftedSequence(string family, ulong seed, int depth, int topK, int tokens)
    {
        var (targetDir, headDir) = IdentityEagle.Write(family, 256, 64, seed);
        using var model = LanguageModel.Load(targetDir);
        var target = model.Target;
        var head = model.EagleHead(headDir);
        var options = new TreeOptions { Depth = depth, TopK = topK, TotalTokens = tokens };
        var drafter = new EagleDrafter(Eagle2Network.For(head, target.Embedding, target.Head), options, 256);
        var tree = new DraftTree(tokens);
        int[] prompt = [5, 77, 130, 2, 9, 41];
        var cache = target.CreateCache(256);
        var features = new float[prompt.Length * target.Config.HiddenSize];
        var last = VanillaDecoder.Prefill(target, target.CreateState(), cache, prompt, features);
        var logits = new float[256];
        target.Head.Compute(last, 1, logits);
        int root = FrSpec.Numerics.Ops.ArgMax(logits);
        drafter.Begin(prompt, 64);
        drafter.Extend(features, [.. prompt[1..], root]);
        drafter.Draft(root, tree);

        Assert.Equal(Math.Min(tokens, 1 + topK + depth * topK * topK), tree.Count);
        if (topK == 1) Assert.Equal(depth + 1, tree.MaxDepth);
        var vanilla = model.CreateSession();
        int checkedNodes = 0;
        for (int n = 0; n < tree.Count; n++)
        {
            int c = tree.FirstChild[n];
            if (c < 0) continue;
            var path = new List<int>();
            for (int a = n; a >= 0; a = tree.Parents[a]) path.Insert(0, tree.Tokens[a]);
            int[] shifted = [.. prompt[1..], .. path];
            int expected = vanilla.Generate(shifted, new GenerationOptions { MaxNewTokens = 1 }).Ids[0];
            Assert.Equal(expected, tree.Tokens[c]);
            checkedNodes++;
        }
        Assert.True(checkedNodes >= depth);
    }

    [Fact]
    public void WideTreesStayExactAndAcceptDeeply()
    {
        var (targetDir, headDir) = IdentityEagle.Write("llama3", 256, 64, 63);
        using var model = LanguageModel.Load(targetDir);
        using var spec = model.CreateSession(DecodingMethod.Eagle(headDir, null, new TreeOptions { Depth = 4, TopK = 4, TotalTokens = 24 }));
        var prompt = new[] { 1, 2, 3 };
        var options = new GenerationOptions { MaxNewTokens = 60, StopIds = [] };
        var r = spec.Generate(prompt, options);
        Assert.Equal(model.CreateSession().Generate(prompt, options).Ids, r.Ids);
        Assert.True(r.AcceptLengths.Skip(1).SkipLast(1).Average() > 2, $"mean accept {r.MeanAcceptLength}");
    }

    [Fact]
    public void FrSubsetWithoutTheTargetsTokensStillExact()
    {
        var (targetDir, headDir) = IdentityEagle.Write("llama3", 256, 64, 64);
        using var model = LanguageModel.Load(targetDir);
        var prompt = new[] { 10, 20, 30 };
        var options = new GenerationOptions { MaxNewTokens = 40, StopIds = [] };
        var expected = model.CreateSession().Generate(prompt, options).Ids;
        int[] subset = Enumerable.Range(0, 256).Where(i => i % 2 == 0 || !expected.Contains(i)).ToArray();
        using var spec = model.CreateSession(DecodingMethod.Eagle(headDir, model.Vocabulary.CreateDraftVocabulary(subset), new TreeOptions { Depth = 3, TopK = 3, TotalTokens = 16 }));
        Assert.Equal(expected, spec.Generate(prompt, options).Ids);
    }
}
