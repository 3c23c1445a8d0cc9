using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Speculative.AutoTree;
using FrSpec.Synthesis;

namespace FrSpec.Tests.Speculative;

/// <summary>
/// The automatic tree over the other dynamic-tree drafters: EAGLE-3 heads and draft models (tree and chain). Greedy
/// output equals vanilla whatever is chosen (with real cost measurement, and with costs under which speculation pays),
/// the chosen tree lies within the drafter's bounds (a draft model's chain stays a chain no longer than --draft-max),
/// FR-Spec variants are chosen among, and the drafter's measured costs are cached per head and bounds.
/// </summary>
public class DrafterAutoTreeTests
{
    private const int Vocab = DrafterGreedyTests.Vocab;
    private static readonly int[][] Prompts = DrafterGreedyTests.Prompts;

    private static string Target(string family, bool tied, ulong seed) => DrafterGreedyTests.Target(family, tied, seed);

    /// <summary>Every prompt through <paramref name="method"/> equals vanilla, and <paramref name="check"/> holds for each result.</summary>
    private static void AssertGreedyEqualsVanilla(LanguageModel model, DecodingMethod method, string expectedName, Action<GenerationResult> check) =>
        DrafterGreedyTests.AssertGreedyEqualsVanilla(model, method, expectedName, check);

    /// <summary>The plan is the automatic tree's and lies within <paramref name="bounds"/>, its V' one of <paramref name="sizes"/>.</summary>
    private static void AssertValidPlan(TreePlan? plan, TreeOptions bounds, params int[] sizes)
    {
        Assert.NotNull(plan);
        Assert.True(plan.Auto);
        Assert.InRange(plan.Depth, 0, bounds.Depth);
        Assert.InRange(plan.TopK, 1, bounds.TopK);
        Assert.InRange(plan.TotalTokens, 1, bounds.TotalTokens);
        Assert.Contains(plan.DraftVocabularySize, sizes);
    }

    [Theory]
    [InlineData("llama3", true, 351UL, Eagle3Layout.Official)]
    [InlineData("qwen2", false, 352UL, Eagle3Layout.Speculators)]
    public void Eagle3AutoTreeMatchesVanillaAndCachesItsCosts(string family, bool tied, ulong seed, Eagle3Layout layout)
    {
        string target = Target(family, tied, seed);
        using var model = LanguageModel.Load(target);
        string head = DrafterFixtures.Eagle3(target, layout, seed), cache = TestModels.NewTempDir();
        var auto = new AutoTreeOptions { MaxDepth = 4, MaxTopK = 4, MaxTotalTokens = 16, CostCacheDirectory = cache };
        var sub = model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, 96));
        int own = model.Eagle3Head(head).TokenIds.Length, cut = model.Eagle3DraftHead(head, sub).Size;

        // the default method is the automatic tree over the head's own draft vocabulary
        Assert.Null(((Eagle3Method)DecodingMethod.Eagle3(head)).Tree);
        AssertGreedyEqualsVanilla(model, DecodingMethod.Eagle3(head, [null], auto), "eagle3", r => AssertValidPlan(r.Tree, auto.Bounds, own));
        // measured once (target and EAGLE-3 draft step over its 3-layer features), kept in the cache folder
        Assert.Equal(2, Directory.GetFiles(cache, "*.json").Length);

        // choosing between the head's own vocabulary and an FR-Spec cut of it
        AssertGreedyEqualsVanilla(model, DecodingMethod.Eagle3(head, [sub, null], auto), "eagle3-fr-auto", r => AssertValidPlan(r.Tree, auto.Bounds, cut, own));
        Assert.Equal(3, Directory.GetFiles(cache, "*.json").Length); // new variants: a new draft record, the target's reused
        Assert.Throws<FrSpecException>(() => model.CreateSession(new Eagle3Method(head, sub, TreeOptions.Default) { Candidates = [sub, null] }));
    }

    [Theory]
    [InlineData("llama3", true, 361UL)]
    [InlineData("qwen2", false, 362UL)]
    public void DraftModelAutoChainAndTreeMatchVanilla(string family, bool tied, ulong seed)
    {
        using var model = LanguageModel.Load(Target(family, tied, seed));
        string draft = DrafterFixtures.Target(family, Vocab, layers: 2, hidden: 32, seed + 1000, tied);
        var sub = model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, 96));

        // the default: a chain whose length the automatic tree chooses, up to llama.cpp's 16
        var method = (DraftModelMethod)DecodingMethod.DraftModel(draft);
        Assert.Null(method.Tree);
        Assert.Equal((15, 1, 17), (method.Auto.Bounds.Depth, method.Auto.Bounds.TopK, method.Auto.Bounds.TotalTokens));
        var chain = DraftModelMethod.AutoChain(6, AutoTreeOptions.Default);
        AssertGreedyEqualsVanilla(model, DecodingMethod.DraftModel(draft, null, null, DraftLimits.None, chain), "draft", r => AssertValidPlan(r.Tree, chain.Bounds, Vocab));
        AssertGreedyEqualsVanilla(model, DecodingMethod.DraftModel(draft, [sub, null], chain, DraftLimits.None), "draft-fr-auto", r => AssertValidPlan(r.Tree, chain.Bounds, sub.Count, Vocab));

        // --draft-tree: EAGLE-2's dynamic tree, chosen automatically, with and without FR-Spec
        var tree = new AutoTreeOptions { MaxDepth = 3, MaxTopK = 4, MaxTotalTokens = 16 };
        AssertGreedyEqualsVanilla(model, DecodingMethod.DraftModel(draft, sub, null, DraftLimits.None, tree), $"draft-fr-{sub.Count}", r => AssertValidPlan(r.Tree, tree.Bounds, sub.Count));
        AssertGreedyEqualsVanilla(model, DecodingMethod.DraftModel(draft, [sub, null], tree, new DraftLimits { MinProbability = 0.3f }), "draft-fr-auto",
            r => AssertValidPlan(r.Tree, tree.Bounds, sub.Count, Vocab));
    }

    /// <summary>Costs under which drafting is nearly free and verifying a tree costs about one decode step.</summary>
    private static CostProfile CheapDrafting(int[] sizes)
    {
        int[] trees = [1, 2, 4, 8, 16, 32, 48], rows = [1, 2, 4], headRows = [1, 2, 4, 8, 9];
        return new CostProfile(
            new TargetCosts { TreeTokens = trees, ForwardSeconds = [.. trees.Select(t => 0.01 + 0.0001 * t)], HeadRows = headRows, HeadSeconds = [.. headRows.Select(r => 0.0005 * r)] },
            new DraftCosts
            {
                DraftRows = rows, DraftLayerSeconds = [.. rows.Select(r => 0.0001 * r)],
                VariantSizes = sizes, DraftHeadSeconds = [.. sizes.Select(_ => rows.Select(r => 0.0001 * r).ToArray())],
            });
    }

    [Fact]
    public void DraftModelAutoChainPicksALongChainForAPerfectDraft()
    {
        // the draft is the target itself: every drafted token is accepted, so with cheap drafting the longest chain pays
        string target = Target("llama3", true, 371);
        using var model = LanguageModel.Load(target);
        using var draft = LanguageModel.Load(DrafterFixtures.Copy(target));
        var options = DraftModelMethod.AutoChain(5, AutoTreeOptions.Default with { ReplanEvery = 2 });
        var decoder = SpeculativeDecoder.Auto(model.Target, [new DraftModelNetwork(draft.Target, draft.Target.Head)], options, _ => CheapDrafting([Vocab]), "draft");
        using var vanilla = model.CreateSession();
        var prompt = Prompts[1];
        var r = decoder.Generate(prompt, new GenerationOptions { MaxNewTokens = 1 + 6 * 8, StopIds = [] });
        Assert.Equal(vanilla.Generate(prompt, new GenerationOptions { MaxNewTokens = 1 + 6 * 8, StopIds = [] }).Ids, r.Ids);
        Assert.NotNull(r.Tree);
        Assert.True(r.Tree.Speculative);
        Assert.Equal((4, 1, 6), (r.Tree.Depth, r.Tree.TopK, r.Tree.TotalTokens)); // the whole chain of --draft-max 5, nothing wider
        // once learned, five drafted tokens and the bonus per round (the last round is cut by the token limit)
        Assert.All(r.AcceptLengths[2..^1], a => Assert.Equal(6, a));
    }
}
