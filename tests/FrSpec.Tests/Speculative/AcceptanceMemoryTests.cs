using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Speculative.AutoTree;

namespace FrSpec.Tests.Speculative;

/// <summary>
/// The automatic tree's warm start: acceptance statistics carried from one session to the next and from one run to
/// the next (snapshot, seed, file), a stored file that is corrupt, foreign or oversized ignored with a notice, the
/// folder bounded, and output identical to vanilla whether a session starts warm or cold.
/// </summary>
[Collection("Console")]
public class AcceptanceMemoryTests
{
    private const string Key = "acceptance\ntest\n";

    /// <summary>Statistics over the full vocabulary of 100 ids where the target always takes the draft's rank-r candidate at the root.</summary>
    private static AcceptanceStatistics Observed(int rank, int rounds, int depths = 3, int ranks = 4) =>
        ObserveRoot(new AcceptanceStatistics([null], 100, depths, ranks, decay: 1), 10 * (rank + 1), rounds);

    /// <summary><paramref name="rounds"/> rounds in which the root's candidates were 10, 20, 30, 40 and the target emitted <paramref name="bonus"/> after it.</summary>
    private static AcceptanceStatistics ObserveRoot(AcceptanceStatistics stats, int bonus, int rounds)
    {
        for (int i = 0; i < rounds; i++)
        {
            var tree = new DraftTree(4);
            tree.Reset(1);
            tree.SetCandidates(0, [10, 20, 30, 40]);
            tree.Add(10, 0);
            stats.ObserveRound(0, tree, [0], bonus);
        }
        return stats;
    }

    [Fact]
    public void SnapshotSeedsAFreshSessionBoundedToItsWeight()
    {
        var learned = Observed(rank: 1, rounds: 200);
        var snapshot = AcceptanceSnapshot.Parse(learned.Snapshot(Key).ToJson(), Key, 1, 3, 4, out string? problem);
        Assert.Null(problem);
        Assert.NotNull(snapshot);
        Assert.Equal(200, snapshot.Rounds);

        double[] cold = new double[12], warm = new double[12], expected = new double[12];
        new AcceptanceStatistics([null], 100, 3, 4, 1).Estimate(0, cold);
        learned.Estimate(0, expected);
        var seeded = new AcceptanceStatistics([null], 100, 3, 4, 1);
        seeded.Seed(snapshot, maxRounds: 8);
        seeded.Estimate(0, warm);
        Assert.True(seeded.WarmStart);
        Assert.Equal(0, seeded.Rounds);
        // 200 rounds of evidence weigh 8: still far from the prior, towards what was learned (rank 1 at the root)
        Assert.True(cold[0] > cold[1]);
        Assert.True(warm[1] > 0.7 && warm[0] < 0.2, $"{warm[0]} {warm[1]}");
        Assert.InRange(seeded.Trials(0), 7.99, 8.01);
        // and the session's own text takes over: 30 rounds at rank 0 outweigh the seed
        var fresh = new AcceptanceStatistics([null], 100, 3, 4, decay: 0.9);
        fresh.Seed(snapshot, 8);
        ObserveRoot(fresh, bonus: 10, rounds: 30);
        fresh.Estimate(0, warm);
        Assert.True(warm[0] > 0.9, $"{warm[0]}");
        // only before the first observation, and only with the same dimensions
        Assert.Throws<InvalidOperationException>(() => fresh.Seed(snapshot, 8));
        Assert.Throws<ArgumentException>(() => new AcceptanceStatistics([null], 100, 2, 4, 1).Seed(snapshot, 8));
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"key\": \"other\"}")]
    [InlineData("{}")]
    [InlineData("[1, 2, 3]")]
    [InlineData("negative")]
    [InlineData("more hits")]
    [InlineData("wrong key")]
    [InlineData("wrong shape")]
    [InlineData("huge")]
    public void ACorruptOrForeignStoreIsIgnoredWithANotice(string kind)
    {
        string dir = TinyModels.NewDir("acceptance-corrupt");
        var good = Observed(0, 20).Snapshot(Key);
        string text = kind switch
        {
            "negative" => (good with { Trials = [-1, 0, 0] }).ToJson(),
            "more hits" => (good with { Trials = [1, 0, 0] }).ToJson(),
            "wrong key" => (good with { Key = "acceptance\nsomething else\n" }).ToJson(),
            "wrong shape" => (good with { Depths = 2 }).ToJson(),
            "huge" => new string(' ', (int)AcceptanceSnapshot.MaxFileBytes + 1) + good.ToJson(),
            _ => kind,
        };
        File.WriteAllText(Path.Combine(dir, "acceptance-" + CostProfileStore.FileName(Key)), text);
        var memory = new AcceptanceMemory(Key, dir, 1, 3, 4);
        var stderr = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        try { Assert.Null(memory.Recall()); }
        finally { Console.SetError(stderr); }
        string notice = captured.ToString();
        Assert.Contains("ignoring stored acceptance statistics", notice);
        // other test classes (training progress) may write to the process-wide stderr while it is captured: count ours
        Assert.Single(notice.Split('\n'), line => line.StartsWith("frspec: "));
        // a later run overwrites the bad file with good statistics
        memory.Remember(good);
        memory.Flush();
        Assert.NotNull(new AcceptanceMemory(Key, dir, 1, 3, 4).Recall());
    }

    [Fact]
    public void TheStoreKeepsOneSmallFilePerKeyAndABoundedFolder()
    {
        string dir = TinyModels.NewDir("acceptance-prune");
        var start = DateTime.UtcNow.AddHours(-1);
        for (int i = 0; i < AcceptanceMemory.MaxFiles + 5; i++)
        {
            string key = $"acceptance\nkey {i}\n";
            var memory = new AcceptanceMemory(key, dir, 1, 3, 4);
            memory.Remember(Observed(0, 5).Snapshot(key));
            memory.Remember(Observed(1, 5).Snapshot(key)); // the latest session's counts win
            memory.Flush();
            File.SetLastWriteTimeUtc(Path.Combine(dir, "acceptance-" + CostProfileStore.FileName(key)), start.AddSeconds(i));
        }
        var files = Directory.GetFiles(dir);
        Assert.InRange(files.Length, AcceptanceMemory.MaxFiles - 1, AcceptanceMemory.MaxFiles);
        Assert.All(files, f => Assert.InRange(new FileInfo(f).Length, 1, 4096));
        Assert.False(File.Exists(Path.Combine(dir, "acceptance-" + CostProfileStore.FileName("acceptance\nkey 0\n"))));
        string last = $"acceptance\nkey {AcceptanceMemory.MaxFiles + 4}\n";
        var recalled = new AcceptanceMemory(last, dir, 1, 3, 4).Recall();
        Assert.NotNull(recalled);
        Assert.Equal(5, recalled.Hits[1]); // rank 1 at the root: the second snapshot's
        Assert.Throws<ArgumentException>(() => new AcceptanceMemory(last, dir, 1, 3, 4).Remember(Observed(0, 1).Snapshot("other key")));
        // without a folder the memory lives in the process only
        var inMemory = new AcceptanceMemory(Key, null, 1, 3, 4);
        Assert.Null(inMemory.Recall());
        inMemory.Remember(Observed(0, 3).Snapshot(Key));
        inMemory.Flush();
        Assert.NotNull(inMemory.Recall());
    }

    [Fact]
    public void SessionsStartWarmFromEarlierSessionsAndRunsAndStillMatchVanilla()
    {
        string dir = TinyModels.NewDir("acceptance-sessions");
        string target = TinyModels.Target("qwen2", false, 91);
        string head = TinyModels.Head(target, 92);
        var options = new GenerationOptions { MaxNewTokens = 24, StopIds = [] };
        int[] prompt = [5, 17, 300, 42];
        var auto = new AutoTreeOptions { MaxDepth = 3, MaxTopK = 4, MaxTotalTokens = 12, AcceptanceCacheDirectory = dir };
        int[] expected;
        using (var model = LanguageModel.Load(target))
        {
            using var vanilla = model.CreateSession();
            expected = vanilla.Generate(prompt, options).Ids;
            using var first = model.CreateSession(DecodingMethod.Eagle(head, [null], auto));
            var r1 = first.Generate(prompt, options);
            Assert.Equal(expected, r1.Ids);
            Assert.False(r1.Tree!.WarmStart);
            Assert.False(first.Generate(prompt, options).Tree!.WarmStart); // a session that started cold stays so
            // a second session of the same model and drafter starts from the first one's statistics
            using var second = model.CreateSession(DecodingMethod.Eagle(head, [null], auto));
            var r2 = second.Generate(prompt, options);
            Assert.Equal(expected, r2.Ids);
            Assert.True(r2.Tree!.WarmStart);
            // another draft vocabulary is another key: cold
            using var cut = model.CreateSession(DecodingMethod.Eagle(head, [model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, 256))], auto));
            Assert.False(cut.Generate(prompt, options).Tree!.WarmStart);
            // WarmStart = false: cold, whatever was learned
            using var cold = model.CreateSession(DecodingMethod.Eagle(head, [null], auto with { WarmStart = false }));
            var r3 = cold.Generate(prompt, options);
            Assert.Equal(expected, r3.Ids);
            Assert.False(r3.Tree!.WarmStart);
            Assert.Empty(Directory.GetFiles(dir)); // written when the model is disposed, not during generation
        }
        Assert.Equal(2, Directory.GetFiles(dir, "acceptance-*.json").Length);
        // the next run (a new load of the same files) starts warm from the folder
        using (var model = LanguageModel.Load(target))
        {
            using var session = model.CreateSession(DecodingMethod.Eagle(head, [null], auto));
            var r = session.Generate(prompt, options);
            Assert.Equal(expected, r.Ids);
            Assert.True(r.Tree!.WarmStart);
        }
    }

    [Fact]
    public void AWarmStartPlansFromWhatWasLearnedNotFromThePrior()
    {
        // the draft is the target itself: every rank-0 candidate is accepted
        var (targetDir, headDir) = IdentityEagle.Write("llama3", 256, 64, 93);
        using var model = LanguageModel.Load(targetDir);
        var head = model.EagleHead(headDir);
        // verification costs grow with the tree, drafting is cheap: how deep to go depends on the acceptance expected
        var costs = new CostProfile(
            new TargetCosts { TreeTokens = [1, 2, 4, 8, 16], ForwardSeconds = [0.010, 0.013, 0.016, 0.022, 0.034], HeadRows = [1, 2, 4, 8], HeadSeconds = [0.001, 0.002, 0.004, 0.008] },
            new DraftCosts { DraftRows = [1, 2, 4], DraftLayerSeconds = [0.0002, 0.0004, 0.0008], VariantSizes = [256], DraftHeadSeconds = [[0.0002, 0.0004, 0.0008]] });
        var options = new AutoTreeOptions { MaxDepth = 6, MaxTopK = 4, MaxTotalTokens = 16 };
        var (depths, ranks) = TreeTuner.StatisticsShape(options.Bounds);
        var memory = new AcceptanceMemory(Key, null, 1, depths, ranks);
        // what an earlier session learned: the target never takes the draft's token
        var failing = ObserveRoot(new AcceptanceStatistics([null], 256, depths, ranks, 1), bonus: 99, rounds: 50);
        memory.Remember(failing.Snapshot(Key));
        SpeculativeDecoder Session(AcceptanceMemory? m) =>
            SpeculativeDecoder.Auto(model.Target, [Eagle2Network.For(head, model.Target.Embedding, model.Target.Head)], options with { ReplanEvery = 1000 },
                _ => costs, "auto", memory: m == null ? null : (_, _, _) => m);
        var o = new GenerationOptions { MaxNewTokens = 1, StopIds = [] }; // the plan made at the start, before any round
        var cold = Session(null).Generate([1, 2, 3], o).Tree!;
        var warm = Session(memory).Generate([1, 2, 3], o).Tree!;
        Assert.False(cold.WarmStart);
        Assert.True(warm.WarmStart);
        // the optimistic prior drafts deep; the stored failures make the first plan shallow and its prediction low
        Assert.True(cold.Depth > warm.Depth, $"cold {cold}, warm {warm}");
        Assert.True(warm.PredictedAcceptLength < cold.PredictedAcceptLength);
    }
}
