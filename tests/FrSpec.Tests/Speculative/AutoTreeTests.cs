using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Speculative.AutoTree;

namespace FrSpec.Tests.Speculative;

/// <summary>
/// The automatic tree: the planner against a plain re-implementation of its model, the acceptance statistics on
/// hand-made rounds, the cost cache, and — whatever tree is chosen, however often it changes, and when it falls back to
/// plain decoding — greedy output identical to vanilla.
/// </summary>
public class AutoTreeTests
{
    private static readonly int[][] Prompts = [[1, 2, 3], [17, 300, 5, 42, 99, 7, 250], [400]];

    /// <summary>A synthetic cost profile: forward(T) = a + b·T, target head = c·rows, draft layer = l·rows, draft head = h_v·rows.</summary>
    private static CostProfile Costs(double a, double b, double head, double layer, double[] draftHead, int[] sizes)
    {
        int[] trees = [1, 2, 4, 8, 16, 32, 48], rows = [1, 2, 4, 8, 10], headRows = [1, 2, 4, 8, 9];
        return new CostProfile(
            new TargetCosts { TreeTokens = trees, ForwardSeconds = [.. trees.Select(t => a + b * t)], HeadRows = headRows, HeadSeconds = [.. headRows.Select(r => head * r)] },
            new DraftCosts
            {
                DraftRows = rows, DraftLayerSeconds = [.. rows.Select(r => layer * r)],
                VariantSizes = sizes, DraftHeadSeconds = [.. draftHead.Select(h => rows.Select(r => h * r).ToArray())],
            });
    }

    private sealed class FixedAcceptance(Func<int, int, int, double> p, int depths, int ranks) : IAcceptanceModel
    {
        public void Estimate(int variant, Span<double> values)
        {
            for (int d = 0; d < depths; d++)
                for (int r = 0; r < ranks; r++) values[d * ranks + r] = p(variant, d, r);
        }
    }

    /// <summary>The planner's model written plainly: build the EAGLE-2 tree of acceptance values, take the T − 1 best, divide by the round's cost.</summary>
    private static (double Rate, double E) Reference(IAcceptanceModel model, CostProfile c, TreeOptions bounds, int variants, int ranks, int v, int k, int depth, int t)
    {
        var p = new double[(bounds.Depth + 1) * ranks];
        model.Estimate(v, p);
        var frontier = Enumerable.Range(0, k).Select(r => p[r]).OrderByDescending(x => x).ToList();
        var values = new List<double>(frontier);
        for (int step = 1; step <= depth; step++)
        {
            var group = frontier.SelectMany(f => Enumerable.Range(0, k).Select(r => f * p[step * ranks + r])).OrderByDescending(x => x).ToList();
            values.AddRange(group);
            frontier = group.Take(k).ToList();
        }
        if (t - 1 > values.Count) return (-1, 0);
        var tree = values.OrderByDescending(x => x).Take(t - 1).ToList();
        double e = 1 + tree.Sum();
        // the chain of rank-0 children: its logits come in one batched pass, every other accepted node costs a pass of its own
        var chain = Enumerable.Range(0, depth + 1).Select(d => Enumerable.Range(0, d + 1).Aggregate(1.0, (x, i) => x * p[i * ranks])).Where(x => x >= tree[^1]).Sum();
        double seconds = c.DraftHead(v, 1) + depth * (c.DraftLayer(k) + c.DraftHead(v, k)) + c.DraftLayer(e) + c.Forward(t) + c.TargetHead(Math.Min(t, depth + 2))
            + Math.Max(0, e - 1 - chain) * c.TargetHead(1);
        return (e / seconds, e);
    }

    [Theory]
    [InlineData(0.001, 0.0002, 0.6, 0.3)]   // verification nearly flat: big trees
    [InlineData(0.001, 0.002, 0.6, 0.3)]    // verification grows fast: small trees
    [InlineData(0.001, 0.0005, 0.9, 0.05)]  // a confident draft: deep chains
    [InlineData(0.001, 0.0005, 0.3, 0.25)]  // a weak draft
    public void PlannerFindsTheBestTreeOfItsModel(double a, double b, double top1, double top2)
    {
        var bounds = new TreeOptions { Depth = 5, TopK = 6, TotalTokens = 48 };
        int ranks = 6;
        int[] sizes = [1000, 200];
        var costs = Costs(a, b, 0.0002, 0.0001, [0.0005, 0.0001], sizes);
        // the smaller vocabulary finds the target's token 10% less often
        var model = new FixedAcceptance((v, d, r) => (v == 1 ? 0.9 : 1) * (r == 0 ? top1 : r == 1 ? top2 : 0.04 / r) * (d == 0 ? 1 : 1.02), bounds.Depth + 1, ranks);
        var planner = new TreePlanner(costs, bounds, sizes, bounds.Depth + 1, ranks);
        var choice = planner.Plan(model);

        double best = -1;
        for (int v = 0; v < sizes.Length; v++)
            for (int k = 1; k <= bounds.TopK; k++)
                for (int d = 0; d <= bounds.Depth; d++)
                    for (int t = 2; t <= bounds.TotalTokens; t++)
                        best = Math.Max(best, Reference(model, costs, bounds, sizes.Length, ranks, v, k, d, t).Rate);
        var (rate, e) = Reference(model, costs, bounds, sizes.Length, ranks, choice.Variant, choice.TopK, choice.Depth, choice.Tokens);
        Assert.Equal(best, choice.Rate, 9);
        Assert.Equal(rate, choice.Rate, 9);
        Assert.Equal(e, choice.AcceptLength, 9);
        Assert.Equal(1 / (a + b + 0.0002), choice.PlainRate, 6);
    }

    [Fact]
    public void PlannerShapesFollowCostsAndAcceptance()
    {
        var bounds = new TreeOptions { Depth = 6, TopK = 8, TotalTokens = 48 };
        int[] sizes = [1000];
        var planner = (CostProfile c) => new TreePlanner(c, bounds, sizes, bounds.Depth + 1, 8);
        // a perfect draft with free drafting and flat verification: the deepest chain, nothing wider
        var perfect = new FixedAcceptance((_, _, r) => r == 0 ? 1 : 0, bounds.Depth + 1, 8);
        var chain = planner(Costs(0.01, 0, 0, 0, [0], sizes)).Plan(perfect);
        Assert.Equal(bounds.Depth, chain.Depth);
        Assert.Equal(bounds.Depth + 2, chain.AcceptLength, 9);
        Assert.True(chain.BeatsPlain);
        // a draft that is never right: plain decoding wins
        var useless = new FixedAcceptance((_, _, _) => 0, bounds.Depth + 1, 8);
        Assert.False(planner(Costs(0.01, 0.001, 0.001, 0.0001, [0.0001], sizes)).Plan(useless).BeatsPlain);
        // a mediocre draft: verification that gets expensive per token makes the tree smaller
        var mediocre = new FixedAcceptance((_, _, r) => r == 0 ? 0.5 : 0.3 / (r + 1), bounds.Depth + 1, 8);
        var cheap = planner(Costs(0.01, 0.0001, 0.001, 0.0001, [0.0001], sizes)).Plan(mediocre);
        var dear = planner(Costs(0.01, 0.004, 0.001, 0.0001, [0.0001], sizes)).Plan(mediocre);
        Assert.True(dear.Tokens < cheap.Tokens, $"{dear} vs {cheap}");
    }

    private static DraftTree Round(int[] candidates, out int[] path)
    {
        // a root with two children, the first of which has ranked candidates of its own
        var tree = new DraftTree(8);
        tree.Reset(1);
        tree.SetCandidates(0, candidates);
        int a = tree.Add(candidates[0], 0);
        tree.Add(candidates[1], 0);
        tree.SetCandidates(a, [50, 51, 52]);
        path = [0, a];
        return tree;
    }

    [Fact]
    public void StatisticsCountRanksPerDepthAndVocabulary()
    {
        // variant 0: the full vocabulary; variant 1: every id except 10
        var members = new IReadOnlyList<int>?[] { null, Enumerable.Range(0, 100).Where(i => i != 10).ToArray() };
        var stats = new AcceptanceStatistics(members, 100, depths: 3, ranks: 4, decay: 1);
        // root candidates 10, 20, 30: the target took 10 (rank 0), then after it 51 (rank 1 among 50, 51, 52)
        for (int i = 0; i < 200; i++)
        {
            var tree = Round([10, 20, 30, 40], out var path);
            stats.ObserveRound(0, tree, path, bonus: 51);
        }
        var p = new double[3 * 4];
        stats.Estimate(0, p);
        Assert.InRange(p[0], 0.97, 1.0);     // depth 1, rank 0
        Assert.InRange(p[1 * 4 + 1], 0.97, 1.0); // depth 2, rank 1
        Assert.InRange(p[1 * 4 + 0], 0, 0.03);
        Assert.Equal(200, stats.Rounds);
        // variant 1 ⊂ variant 0 was observed exactly: it cannot propose 10, so depth 1 never hits; depth 2 is the same
        stats.Estimate(1, p);
        Assert.InRange(p[0] + p[1] + p[2] + p[3], 0, 0.03);
        Assert.InRange(p[1 * 4 + 1], 0.97, 1.0); // after an accepted 10 (however it got there), 51 is rank 1 for both
        Assert.True(stats.Coverage(1) < stats.Coverage(0));
    }

    [Fact]
    public void StatisticsRankWithinASubsetSkipsTokensItLacks()
    {
        // variant 1 lacks 10 and 20: the target's 30 (rank 2 in the full ranking) is its rank 0
        var members = new IReadOnlyList<int>?[] { null, Enumerable.Range(0, 100).Where(i => i != 10 && i != 20).ToArray() };
        var stats = new AcceptanceStatistics(members, 100, depths: 2, ranks: 4, decay: 1);
        for (int i = 0; i < 100; i++)
        {
            var tree = new DraftTree(4);
            tree.Reset(1);
            tree.SetCandidates(0, [10, 20, 30, 40]);
            tree.Add(10, 0);
            stats.ObserveRound(0, tree, [0], bonus: 30);
        }
        var p = new double[2 * 4];
        stats.Estimate(0, p);
        Assert.InRange(p[2], 0.95, 1);
        stats.Estimate(1, p);
        Assert.InRange(p[0], 0.95, 1);
        // a variant never drafted with, not a subset of the one used: estimated from it, scaled by coverage
        var other = new AcceptanceStatistics([null, Enumerable.Range(0, 50).ToArray()], 100, 2, 4, 1);
        for (int i = 0; i < 100; i++)
        {
            var tree = new DraftTree(4);
            tree.Reset(1);
            tree.SetCandidates(0, [60, 20, 30, 40]);
            tree.Add(60, 0);
            other.ObserveRound(1, tree, [0], bonus: 20); // drafted with variant 1 (ids < 50); 20 is its rank 0 there
        }
        other.Estimate(0, p);
        Assert.InRange(p[0], 0.8, 1); // the full head: same hit rate, coverage alike (every emitted token is < 50)
    }

    [Fact]
    public void CostCacheKeepsOnlyTheMostRecentlyUsedRecords()
    {
        string dir = TinyModels.NewDir("tree-costs-prune");
        var profile = Costs(0.01, 0.001, 0.001, 0.0001, [0.001], [1000]);
        int measured = 0;
        TargetCosts Measure() { measured++; return profile.Target; }
        var start = DateTime.UtcNow.AddHours(-1);
        for (int i = 0; i < CostProfileStore.MaxFiles; i++)
        {
            CostProfileStore.GetOrMeasure(dir, $"key {i}", Measure);
            File.SetLastWriteTimeUtc(Path.Combine(dir, CostProfileStore.FileName($"key {i}")), start.AddSeconds(i));
        }
        CostProfileStore.GetOrMeasure(dir, "key 0", Measure); // a hit marks key 0 as used: key 1 is now the oldest
        Assert.Equal(CostProfileStore.MaxFiles, measured);
        CostProfileStore.GetOrMeasure(dir, "one more", Measure);
        Assert.Equal(CostProfileStore.MaxFiles, Directory.GetFiles(dir, "*.json").Length);
        Assert.False(File.Exists(Path.Combine(dir, CostProfileStore.FileName("key 1"))));
        Assert.True(File.Exists(Path.Combine(dir, CostProfileStore.FileName("key 0"))));
        Assert.True(File.Exists(Path.Combine(dir, CostProfileStore.FileName("one more"))));
    }

    [Fact]
    public void CostProfilesAreCachedByKeyAndRemeasuredWhenUnreadable()
    {
        string dir = TinyModels.NewDir("tree-costs");
        var profile = Costs(0.01, 0.001, 0.001, 0.0001, [0.001], [1000]);
        int measured = 0;
        TargetCosts Measure() { measured++; return profile.Target; }
        var first = CostProfileStore.GetOrMeasure(dir, "key A", Measure);
        var again = CostProfileStore.GetOrMeasure(dir, "key A", Measure);
        Assert.Equal(1, measured);
        Assert.Equal(first.ForwardSeconds, again.ForwardSeconds);
        Assert.Equal("key A", again.Key);
        CostProfileStore.GetOrMeasure(dir, "key B", Measure);
        Assert.Equal(2, measured);
        File.WriteAllText(Path.Combine(dir, CostProfileStore.FileName("key A")), "{\"tree_tokens\": [1, 0]}");
        CostProfileStore.GetOrMeasure(dir, "key A", Measure);
        Assert.Equal(3, measured);
        // without a folder nothing is written, every call measures
        CostProfileStore.GetOrMeasure(null, "key A", Measure);
        Assert.Equal(4, measured);
        // a draft record does not pass for a target one
        Assert.Null(CostProfileStore.Read<TargetCosts>(System.Text.Json.JsonSerializer.Serialize(profile.Draft)));
        // the key names the model files and what the costs depend on
        string model = TinyModels.Target("llama3", true, 71);
        string head = TinyModels.Head(model, 72);
        string k1 = CostProfileStore.DraftKey(model, head, [512], TreeOptions.Default, EngineOptions.Default);
        Assert.Equal(k1, CostProfileStore.DraftKey(model, head, [512], TreeOptions.Default, EngineOptions.Default));
        Assert.NotEqual(k1, CostProfileStore.DraftKey(model, head, [512, 128], TreeOptions.Default, EngineOptions.Default));
        Assert.NotEqual(k1, CostProfileStore.DraftKey(model, head, [512], TreeOptions.Default, EngineOptions.Default with { Precision = Precision.Exact }));
        Assert.NotEqual(CostProfileStore.TargetKey(model, TreeOptions.Default, EngineOptions.Default), CostProfileStore.TargetKey(model, TreeOptions.Paper8B, EngineOptions.Default));
    }

    [Fact]
    public void CalibrationMeasuresEveryPointOnceAndMonotonically()
    {
        using var model = LanguageModel.Load(TinyModels.Target("qwen2", false, 73));
        var head = model.EagleHead(TinyModels.Head(model.Directory, 74));
        var bounds = new TreeOptions { Depth = 3, TopK = 4, TotalTokens = 20 };
        var drafter = new EagleDrafter([Eagle2Network.For(head, model.Target.Embedding, model.Target.Head),
            Eagle2Network.For(head, model.Target.Embedding, model.DraftHead(model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, 64))))], bounds, 64);
        var t = CostCalibration.MeasureTarget(model.Target, bounds, repeats: 1);
        var d = CostCalibration.MeasureDraft(drafter, 512, repeats: 1);
        Assert.Equal([1, 2, 3, 4, 6, 8, 12, 16, 20], t.TreeTokens);
        Assert.Equal([1, 2, 3, 4], d.DraftRows);
        Assert.Equal([512, 64], d.VariantSizes);
        Assert.Equal(5, t.HeadRows[^1]); // depth + 2: the best path's logits
        foreach (var series in new[] { t.ForwardSeconds, t.HeadSeconds, d.DraftLayerSeconds, d.DraftHeadSeconds[0], d.DraftHeadSeconds[1] })
        {
            Assert.All(series, s => Assert.True(s > 0));
            Assert.Equal(series.Order(), series);
        }
        Assert.NotNull(CostProfileStore.Read<TargetCosts>(System.Text.Json.JsonSerializer.Serialize(t)));
        Assert.NotNull(CostProfileStore.Read<DraftCosts>(System.Text.Json.JsonSerializer.Serialize(d)));
    }

    /// <summary>Wraps an EAGLE drafter and switches it to a random tree and draft vocabulary before every round.</summary>
    private sealed class ShufflingDrafter(EagleDrafter inner, ulong seed) : IDrafter
    {
        private readonly Rng _rng = new(seed);
        public int Rounds { get; private set; }
        public (double Layers, double Head) Time => inner.Time;
        public DraftFeatures Features => inner.Features;
        public int MaxTreeTokens => inner.MaxTreeTokens;
        public void Begin(ReadOnlySpan<int> prompt, int maxSequenceLength) => inner.Begin(prompt, maxSequenceLength);
        public void Extend(ReadOnlySpan<float> features, ReadOnlySpan<int> nextTokens) => inner.Extend(features, nextTokens);

        public void Draft(int rootToken, DraftTree tree)
        {
            var b = inner.Bounds;
            int Pick(int lo, int hi) => lo + (int)(_rng.NextUInt64() % (ulong)(hi - lo + 1));
            inner.Configure(Pick(0, b.Depth), Pick(1, b.TopK), Pick(1, b.TotalTokens), Pick(0, inner.VariantSizes.Count - 1));
            Rounds++;
            inner.Draft(rootToken, tree);
        }
    }

    [Theory]
    [InlineData("llama3", true, 75UL)]
    [InlineData("qwen2", false, 76UL)]
    public void GreedyOutputEqualsVanillaWhateverTreeEachRoundUses(string family, bool tied, ulong seed)
    {
        using var model = LanguageModel.Load(TinyModels.Target(family, tied, seed));
        var head = model.EagleHead(TinyModels.Head(model.Directory, seed + 100));
        var heads = new[] { model.Target.Head, model.DraftHead(model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, 128))),
            model.DraftHead(model.Vocabulary.CreateDraftVocabulary([5, 9, 300])) };
        var bounds = new TreeOptions { Depth = 4, TopK = 5, TotalTokens = 24 };
        var drafter = new ShufflingDrafter(new EagleDrafter([.. heads.Select(h => Eagle2Network.For(head, model.Target.Embedding, h))], bounds, 64), seed);
        var spec = new SpeculativeDecoder(model.Target, drafter, "shuffle");
        using var vanilla = model.CreateSession();
        foreach (var prompt in Prompts)
        {
            var options = new GenerationOptions { MaxNewTokens = 48 };
            var r = spec.Generate(prompt, options);
            Assert.Equal(vanilla.Generate(prompt, options).Ids, r.Ids);
            Assert.Equal(r.Ids.Length - 1, r.AcceptLengths.Sum());
        }
        Assert.True(drafter.Rounds > 20);
    }

    private static SpeculativeDecoder Auto(LanguageModel model, string headDir, DraftVocabulary?[] vocabularies, CostProfile costs, AutoTreeOptions options)
    {
        var head = model.EagleHead(headDir);
        var networks = vocabularies.Select(v => Eagle2Network.For(head, model.Target.Embedding, v == null ? model.Target.Head : model.DraftHead(v))).ToArray();
        return SpeculativeDecoder.Auto(model.Target, networks, options, _ => costs, "auto");
    }

    [Fact]
    public void AutoTreeSpeculatesWhenItPaysAndMatchesVanilla()
    {
        // a draft that is the target itself (IdentityEagle): long accepted paths
        var (targetDir, head) = IdentityEagle.Write("llama3", 256, 64, 77);
        using var model = LanguageModel.Load(targetDir);
        var vocabularies = new DraftVocabulary?[] { model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, 128)), null };
        // verification nearly as cheap as one token, drafting cheap: speculation pays
        var costs = Costs(0.01, 0.0001, 0.0005, 0.0001, [0.0001, 0.0004], [128, 256]);
        var options = new AutoTreeOptions { MaxDepth = 4, MaxTopK = 4, MaxTotalTokens = 16, ReplanEvery = 2 };
        var auto = Auto(model, head, vocabularies, costs, options);
        using var vanilla = model.CreateSession();
        int changes = 0;
        foreach (var prompt in Prompts.Select(p => p.Select(t => t % 256).ToArray()))
        {
            var o = new GenerationOptions { MaxNewTokens = 40 };
            var r = auto.Generate(prompt, o);
            Assert.Equal(vanilla.Generate(prompt, o).Ids, r.Ids);
            Assert.NotNull(r.Tree);
            Assert.True(r.Tree.Auto);
            Assert.True(r.Tree.Speculative, r.Tree.ToString());
            Assert.InRange(r.Tree.TotalTokens, 2, 16);
            Assert.Contains(r.Tree.DraftVocabularySize, new[] { 128, 256 });
            Assert.True(r.Tree.PredictedTokensPerSecond > r.Tree.PredictedPlainTokensPerSecond);
            changes += r.TreeChanges;
        }
        Assert.True(changes > 0, "the plan never changed as statistics came in");
    }

    [Fact]
    public void AutoTreeFallsBackToPlainDecodingAndSaysSo()
    {
        using var model = LanguageModel.Load(TinyModels.Target("qwen2", true, 79));
        string head = TinyModels.Head(model.Directory, 80);
        // every extra verified token costs ten decodes: no tree can pay
        var costs = Costs(0.001, 0.01, 0.0001, 0.0001, [0.0001], [512]);
        var auto = Auto(model, head, [null], costs, new AutoTreeOptions { ExplorationRounds = 3, ReplanEvery = 1 });
        using var vanilla = model.CreateSession();
        var o = new GenerationOptions { MaxNewTokens = 40 };
        // first generation: 3 exploring rounds, then plain decoding for the rest
        var first = auto.Generate(Prompts[1], o);
        Assert.Equal(vanilla.Generate(Prompts[1], o).Ids, first.Ids);
        Assert.False(first.Tree!.Speculative);
        Assert.True(first.TreeChanges >= 1);
        Assert.All(first.AcceptLengths.Skip(3), a => Assert.Equal(1, a));
        Assert.Contains("plain decoding", first.Tree.ToString());
        // next generation: plain from the start, no drafting at all
        var second = auto.Generate(Prompts[0], o);
        Assert.Equal(vanilla.Generate(Prompts[0], o).Ids, second.Ids);
        Assert.All(second.AcceptLengths, a => Assert.Equal(1, a));
        Assert.Equal(0, second.Time.DraftLayers + second.Time.DraftLmHead);
    }

    [Fact]
    public void AfterPlainDecodingALaterGenerationTriesATreeAgain()
    {
        using var model = LanguageModel.Load(TinyModels.Target("qwen2", true, 83));
        string head = TinyModels.Head(model.Directory, 84);
        // a tree pays if the draft is often right (as the prior expects), not with this random head
        var costs = Costs(0.01, 0.002, 0.0005, 0.0001, [0.0001], [512]);
        var auto = Auto(model, head, [null], costs, new AutoTreeOptions { ExplorationRounds = 3, ReplanEvery = 1 });
        using var vanilla = model.CreateSession();
        var o = new GenerationOptions { MaxNewTokens = 60, StopIds = [] };
        var first = auto.Generate(Prompts[1], o);
        Assert.Equal(vanilla.Generate(Prompts[1], o).Ids, first.Ids);
        Assert.False(first.Tree!.Speculative, first.Tree.ToString());
        // the plain tokens aged what the first generation learned: the next one plans from the prior and drafts again
        var second = auto.Generate(Prompts[0], o);
        Assert.Equal(vanilla.Generate(Prompts[0], o).Ids, second.Ids);
        Assert.True(second.Time.DraftLayers > 0);
    }

    [Fact]
    public void AutoTreeDecodeRoundsDoNotAllocate()
    {
        using var model = LanguageModel.Load(TinyModels.Target("llama3", false, 81));
        var head = model.EagleHead(TinyModels.Head(model.Directory, 82));
        int vocab = model.Target.Config.VocabSize;
        int[] subset = [.. Enumerable.Range(0, 200)];
        var networks = new[] { model.DraftHead(model.Vocabulary.CreateDraftVocabulary(subset)), model.Target.Head }
            .Select(h => (IDraftNetwork)Eagle2Network.For(head, model.Target.Embedding, h)).ToArray();
        // re-planning after every round, never falling back to plain decoding: the plan changes as acceptance comes in
        var options = new AutoTreeOptions { MaxDepth = 3, MaxTopK = 4, MaxTotalTokens = 12, ExplorationRounds = 1000, ReplanEvery = 1 };
        var drafter = new EagleDrafter(networks, options.Bounds, 512);
        var costs = Costs(0.001, 0.0003, 0.0002, 0.0001, [0.0001, 0.0003], [subset.Length, vocab]);
        var tuner = new TreeTuner(drafter, _ => costs, options, [subset, null], vocab);
        var spec = new SpeculativeDecoder(model.Target, drafter, "auto", tuner: tuner);
        var generation = new GenerationOptions { MaxNewTokens = 200, StopIds = [] };
        int[] prompt = [1, 2, 3, 4];
        spec.Generate(prompt, generation); // warm up (JIT, buffers)

        // from the first round's first token to the last token: every later round, its re-planning and plan changes
        // (prefill before and the result after allocate once per generation, outside the loop)
        int tokens = 0, changes0 = 0, changes1 = 0;
        long bytes0 = 0, bytes1 = 0;
        var result = spec.Generate(prompt, generation, _ =>
        {
            if (++tokens == 2) (bytes0, changes0) = (GC.GetAllocatedBytesForCurrentThread(), tuner.Changes);
            (bytes1, changes1) = (GC.GetAllocatedBytesForCurrentThread(), tuner.Changes);
        });
        Assert.Equal(200, result.Ids.Length);
        Assert.True(result.AcceptLengths.Length > 50, $"{result.AcceptLengths.Length} rounds");
        Assert.True(changes1 - changes0 >= 5, $"only {changes1 - changes0} plan changes while measuring");
        Assert.True(bytes1 == bytes0, $"{bytes1 - bytes0} bytes allocated in {result.AcceptLengths.Length} rounds with {changes1 - changes0} plan changes");
    }
}
