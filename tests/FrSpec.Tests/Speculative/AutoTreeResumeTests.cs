using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Speculative.AutoTree;

namespace FrSpec.Tests.Speculative;

/// <summary>
/// A generation whose automatic tree has turned to plain decoding looks again after a stretch of plain tokens
/// (<see cref="AutoTreeOptions.ProbeAfter"/>): the drafter follows the plain tokens' features meanwhile, so a resumed
/// round drafts from where the text is. Output stays the target's greedy output for every dynamic-tree drafter.
/// </summary>
public class AutoTreeResumeTests
{
    /// <summary>Costs under which no tree can pay (every extra verified token costs ten decodes): the tuner decodes plainly
    /// and, with a zero probe margin, still looks again after every plain stretch.</summary>
    private static CostProfile Hopeless(int vocab)
    {
        int[] trees = [1, 2, 4, 8, 16, 32, 48], rows = [1, 2, 4, 8, 10, 16];
        return new CostProfile(
            new TargetCosts { TreeTokens = trees, ForwardSeconds = [.. trees.Select(t => 0.001 + 0.01 * (t - 1))], HeadRows = rows, HeadSeconds = [.. rows.Select(r => 0.0001 * r)] },
            new DraftCosts { DraftRows = rows, DraftLayerSeconds = [.. rows.Select(r => 0.0001 * r)], VariantSizes = [vocab], DraftHeadSeconds = [[.. rows.Select(r => 0.0001 * r)]] });
    }

    private static readonly AutoTreeOptions Probing = new()
    {
        MaxDepth = 3, MaxTopK = 2, MaxTotalTokens = 8, ExplorationRounds = 0, ReplanEvery = 1, ProbeAfter = 4, ProbeMargin = 0, WarmStart = false,
    };

    private static GenerationResult AssertMatchesVanilla(LanguageModel model, SpeculativeDecoder spec, int[] prompt, int tokens)
    {
        var o = new GenerationOptions { MaxNewTokens = tokens, StopIds = [] };
        using var vanilla = model.CreateSession();
        var r = spec.Generate(prompt, o);
        Assert.Equal(vanilla.Generate(prompt, o).Ids, r.Ids);
        Assert.Equal(tokens - 1, r.AcceptLengths.Sum()); // the first token comes from the prefill
        return r;
    }

    [Fact]
    public void LooksAgainAfterPlainStretchesAndDraftsFromWhereTheTextIs()
    {
        // the draft is the target itself (it reads tokens, not features): a resumed round whose drafter missed the plain
        // tokens would propose the wrong ones and accept nothing (the features' part: the exactness tests below)
        var (targetDir, headDir) = IdentityEagle.Write("llama3", 256, 64, 91);
        using var model = LanguageModel.Load(targetDir);
        var head = model.EagleHead(headDir);
        var network = Eagle2Network.For(head, model.Target.Embedding, model.Target.Head);
        var spec = SpeculativeDecoder.Auto(model.Target, [network], Probing, _ => Hopeless(256), "auto");
        foreach (var prompt in new[] { new[] { 1, 2, 3, 4, 5 }, [17, 200, 5, 42, 99, 7, 250, 17, 200] })
        {
            var r = AssertMatchesVanilla(model, spec, prompt, 100);
            Assert.False(r.Tree!.Speculative); // plain decoding is what the costs favour
            Assert.Equal(1, r.AcceptLengths[0]); // it starts plain (no exploration)
            // looks after 4, 8, 16 and 32 plain tokens (the interval doubles): each resumed round accepted its draft
            int resumed = r.AcceptLengths.Count(a => a > 1);
            Assert.True(resumed >= 4, $"{resumed} rounds accepted a draft: {string.Join(",", r.AcceptLengths)}");
            Assert.True(r.AcceptLengths.Count(a => a == 1) >= 4 + 8 + 16, "plain stretches between the looks");
        }
    }

    [Fact]
    public void WithoutAMarginNoPlainGenerationDrafts()
    {
        using var model = LanguageModel.Load(TinyModels.Target("qwen2", true, 93));
        var head = model.EagleHead(TinyModels.Head(model.Directory, 94));
        var network = Eagle2Network.For(head, model.Target.Embedding, model.Target.Head);
        int vocab = model.Target.Config.VocabSize;
        var spec = SpeculativeDecoder.Auto(model.Target, [network], Probing with { ProbeMargin = 0.9 }, _ => Hopeless(vocab), "auto");
        var r = AssertMatchesVanilla(model, spec, [5, 6, 7], 60);
        // the best tree is far below the margin: the drafter never runs, not even to follow the text
        Assert.All(r.AcceptLengths, a => Assert.Equal(1, a));
        Assert.Equal(0, r.Time.DraftLayers + r.Time.DraftLmHead);
    }

    [Theory]
    [InlineData("llama3", true, 395UL)]
    [InlineData("qwen2", false, 396UL)]
    public void Eagle3AndDraftModelResumeExactly(string family, bool tied, ulong seed)
    {
        string target = DrafterGreedyTests.Target(family, tied, seed);
        using var model = LanguageModel.Load(target);
        int vocab = model.Target.Config.VocabSize;
        // EAGLE-3: the plain tokens' features are the captured layer inputs, not the final hidden state
        string eagle3 = DrafterFixtures.Eagle3(target, FrSpec.Synthesis.Eagle3Layout.Official, seed);
        var e3 = Eagle3Network.For(model.Eagle3Head(eagle3), model.Target, model.Eagle3DraftHead(eagle3, null));
        // a draft model: tokens only
        string draftDir = DrafterFixtures.Target(family, DrafterGreedyTests.Vocab, layers: 2, hidden: 32, seed + 1000, tied);
        var dm = new DraftModelNetwork(model.DraftModel(draftDir).Target, model.DraftModelHead(draftDir, null));
        foreach (var network in new IDraftNetwork[] { e3, dm })
        {
            var spec = SpeculativeDecoder.Auto(model.Target, [network], Probing, _ => Hopeless(network.DraftHead.Size), "auto");
            foreach (var prompt in DrafterGreedyTests.Prompts)
            {
                var r = AssertMatchesVanilla(model, spec, prompt, 50);
                Assert.True(r.Time.DraftLmHead > 0, "no look drafted a tree");
            }
        }
    }
}
