using FrSpec.Benchmarks;
using FrSpec.Generation;

namespace FrSpec.Tests.Benchmarks;

/// <summary>Smoke runs of the harness with fake decoders: a few questions, every output file, resume.</summary>
public class BenchmarkRunnerTests
{
    static readonly FakeTokenizer Tok = new();
    static readonly int[] Stops = { FakeTokenizer.EndOfTurn, FakeTokenizer.Eos };

    static BenchmarkRunner Runner() => new(Tok, FakeTemplate.Render, Stops) { WarmupTokens = 0 };

    static BenchmarkSettings Settings(QuestionSet set, int maxTokens = 64) => new()
    {
        DataSet = set.Name, Kind = set.Kind, Model = "fake-model", MaxNewTokens = maxTokens,
    };

    static List<BenchmarkMethod> Methods(List<string>? calls = null, int? corruptFrAt = null) => new()
    {
        new(MethodSpec.Vanilla, new FakeDecoder("vanilla", calls)),
        new(MethodSpec.Eagle2, new FakeDecoder("eagle2", calls) { ChunkSize = 4, Split = new TimeSplit { DraftLayers = 1, DraftLmHead = 3, Verify = 2 } }),
        new(MethodSpec.Fr("freq_1024.pt"), new FakeDecoder("fr-1024", calls) { ChunkSize = 3, CorruptAt = corruptFrAt, Split = new TimeSplit { DraftLayers = 1, DraftLmHead = 1, Verify = 2 } }),
        new(MethodSpec.Fr("freq_4096.pt"), new FakeDecoder("fr-4096", calls) { ChunkSize = 2, Split = new TimeSplit { DraftLayers = 1, DraftLmHead = 2, Verify = 2 } }),
    };

    [Fact]
    public void SpecBenchSmokeRun_WritesOneAnswerFilePerMethodAndAReport()
    {
        using var dir = new TempDir();
        var set = QuestionSet.Load(RepoFiles.Data("spec_bench.jsonl")).Select(null, 1); // 13 questions, 8 of them two-turn
        var calls = new List<string>();
        var methods = Methods(calls);
        var summary = Runner().Run(set, methods, Settings(set, 200), dir.Path, new PlainBenchmarkProgress(TextWriter.Null));
        Assert.Equal(new BenchmarkRunSummary(13 * 4, 0, false), summary);

        // All methods answer a question (every turn) before the next question starts.
        var expected = set.Questions.SelectMany(q => methods.SelectMany(m => Enumerable.Repeat(m.Name, q.Turns.Count))).ToList();
        Assert.Equal(expected, calls);

        foreach (var m in methods)
        {
            var answers = AnswerFile.ReadAll(Path.Combine(dir.Path, m.Name + ".jsonl"));
            Assert.Equal(set.Questions.Select(q => q.Id), answers.Select(a => a.QuestionId));
            Assert.All(answers, a => Assert.Equal($"fake-model-{m.Name}-temperature-0.0", a.ModelId));
            var writing = answers.Single(a => a.Category == "writing");
            Assert.Equal(2, writing.Turns.Count);
            Assert.All(writing.Turns, t => Assert.StartsWith("Answer ", t.Text)); // stop id cut, special tokens skipped
            Assert.All(writing.Turns, t => Assert.Equal(FakeTokenizer.EndOfTurn, t.TokenIds[^1]));
        }

        // Turn 2's prompt holds turn 1's question and this method's own answer to it.
        var eagle = (FakeDecoder)methods[1].Decoder;
        var firstAnswer = AnswerFile.ReadAll(Path.Combine(dir.Path, "eagle2.jsonl"))[0].Turns[0].Text;
        Assert.Contains(set.Questions[0].Turns[0], eagle.Prompts[1]);
        Assert.Contains("[assistant] " + firstAnswer + "<|eot_id|>", eagle.Prompts[1]);
        Assert.EndsWith("[user] " + set.Questions[0].Turns[1] + "<|eot_id|>\n[assistant] ", eagle.Prompts[1]);

        var settings = BenchmarkSettings.TryLoad(dir.Path)!;
        Assert.Equal(new int?[] { null, null, 1024, 4096 }, settings.Methods.Select(m => m.VocabSize));

        var results = BenchmarkReport.Write(dir.Path, set);
        Assert.Equal(new[] { "mt_bench", "translation", "summarization", "qa", "math_reasoning", "rag", "overall" }, results.Groups);
        Assert.Equal(13, results.CommonQuestions);
        Assert.All(results.Differences!.Values, d => Assert.Empty(d));
        Assert.Equal(1.0, results.Stats["vanilla"]["overall"].MeanAcceptLength);
        Assert.Equal(0.75, results.Stats["eagle2"]["overall"].LmHeadShareOfDrafting!.Value, 6);
        Assert.NotNull(results.Gsm8kAccuracy); // Spec-Bench's math_reasoning items carry GSM8K references
        Assert.Equal(1, results.Gsm8kAccuracy!["vanilla"].Total);

        var report = File.ReadAllText(Path.Combine(dir.Path, "report.md"));
        Assert.Contains("**Identical:**", report);
        Assert.Contains("| mt_bench |", report);
        Assert.Contains("Speedup over EAGLE-2", report);
        Assert.Contains("75.0%", report); // EAGLE-2's LM-head share of drafting
        Assert.Contains("![speedup.png](speedup.png)", report);
        foreach (var png in new[] { "speedup.png", "accept_vs_vocab.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(dir.Path, png));
            Assert.True(bytes.Length > 5000, png);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }
    }

    [Fact]
    public void Rerun_SkipsAnsweredQuestionsAndResumesAfterAnInterruption()
    {
        using var dir = new TempDir();
        var set = QuestionSet.Load(RepoFiles.Data("gsm8k_80.jsonl")).Select(null, 3);
        Runner().Run(set, Methods(), Settings(set), dir.Path);

        var calls = new List<string>();
        var again = Runner().Run(set, Methods(calls), Settings(set), dir.Path);
        Assert.Equal(new BenchmarkRunSummary(0, 12, false), again);
        Assert.Empty(calls);

        // Lose the last answer of one method (as a crash mid-question would): only that one is generated again.
        var path = Path.Combine(dir.Path, "fr-1024.jsonl");
        var lines = File.ReadAllLines(path);
        File.WriteAllLines(path, lines[..^1]);
        var resumed = Runner().Run(set, Methods(calls), Settings(set), dir.Path);
        Assert.Equal(new BenchmarkRunSummary(1, 11, false), resumed);
        Assert.Equal(new[] { "fr-1024" }, calls);
        Assert.Equal(3, AnswerFile.ReadAll(path).Count);
    }

    [Fact]
    public void SamplingSeeds_AreSharedByMethodsAndDifferAcrossQuestionsAndTurns()
    {
        using var dir = new TempDir();
        var set = QuestionSet.Load(RepoFiles.Data("spec_bench.jsonl")).Select(new[] { "writing", "qa" }, 2);
        var methods = Methods();
        var settings = Settings(set) with { Sampling = new SamplingOptions(0.7f, 0, 1f, 42) };
        Runner().Run(set, methods, settings, dir.Path);
        var seeds = methods.Select(m => ((FakeDecoder)m.Decoder).Options.Select(o => o.Sampling.Seed).ToList()).ToList();
        Assert.All(seeds, s => Assert.Equal(seeds[0], s));
        Assert.Equal(6, seeds[0].Count); // 2 two-turn writing questions + 2 qa questions
        Assert.Equal(6, seeds[0].Distinct().Count());
        Assert.All(((FakeDecoder)methods[0].Decoder).Options, o => Assert.Equal(0.7f, o.Sampling.Temperature));
        Assert.All(((FakeDecoder)methods[0].Decoder).Options, o => Assert.Equal(Stops, o.StopIds));
        // Stable when the selection changes: the seed comes from the question id.
        Assert.Equal(BenchmarkRunner.TurnSeed(42, set.Questions[2].Id, 0), seeds[0][4]);
    }

    [Fact]
    public void Warmup_RunsOncePerMethodWithWorkLeft()
    {
        using var dir = new TempDir();
        var set = QuestionSet.Load(RepoFiles.Data("gsm8k_80.jsonl")).Select(null, 2);
        var methods = Methods();
        new BenchmarkRunner(Tok, FakeTemplate.Render, Stops) { WarmupTokens = 5 }.Run(set, methods, Settings(set), dir.Path);
        var calls = ((FakeDecoder)methods[0].Decoder).Options;
        Assert.Equal(3, calls.Count);
        Assert.Equal(5, calls[0].MaxNewTokens);
        Assert.Equal(2, AnswerFile.ReadAll(Path.Combine(dir.Path, "vanilla.jsonl")).Count); // warm-up not recorded

        var again = Methods();
        new BenchmarkRunner(Tok, FakeTemplate.Render, Stops) { WarmupTokens = 5 }.Run(set, again, Settings(set), dir.Path);
        Assert.Empty(((FakeDecoder)again[0].Decoder).Options);
    }

    [Fact]
    public void Rerun_WithOtherSettings_IsRefused()
    {
        using var dir = new TempDir();
        var set = QuestionSet.Load(RepoFiles.Data("gsm8k_80.jsonl")).Select(null, 1);
        Runner().Run(set, Methods(), Settings(set), dir.Path);
        var e = Assert.Throws<FrSpecException>(() => Runner().Run(set, Methods(), Settings(set, maxTokens: 32), dir.Path));
        Assert.Contains("max new tokens 64 vs 32", e.Message);
    }

    [Fact]
    public void Cancellation_StopsBetweenAnswers()
    {
        using var dir = new TempDir();
        var set = QuestionSet.Load(RepoFiles.Data("gsm8k_80.jsonl")).Select(null, 2);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var s = Runner().Run(set, Methods(), Settings(set), dir.Path, null, cts.Token);
        Assert.True(s.Cancelled);
        Assert.Equal(0, s.Generated);
    }

    [Fact]
    public void DuplicateMethodNames_AreRefused()
    {
        using var dir = new TempDir();
        var set = QuestionSet.Load(RepoFiles.Data("gsm8k_80.jsonl")).Select(null, 1);
        var methods = new List<BenchmarkMethod>
        {
            new(MethodSpec.Fr("a/freq_1024.pt"), new FakeDecoder("fr-1024")),
            new(MethodSpec.Fr("b/freq_1024.pt"), new FakeDecoder("fr-1024")),
        };
        Assert.Throws<FrSpecException>(() => Runner().Run(set, methods, Settings(set), dir.Path));
    }

    [Fact]
    public void Report_ListsOutputsThatDifferFromVanilla()
    {
        using var dir = new TempDir();
        var set = QuestionSet.Load(RepoFiles.Data("gsm8k_80.jsonl")).Select(null, 2);
        Runner().Run(set, Methods(corruptFrAt: 5), Settings(set), dir.Path);
        var r = BenchmarkReport.Write(dir.Path, set);
        Assert.Empty(r.Differences!["eagle2"]);
        var d = r.Differences["fr-1024"];
        Assert.Equal(2, d.Count);
        Assert.All(d, x => { Assert.Equal(1, x.Turn); Assert.Equal(5, x.Position); });
        var report = File.ReadAllText(Path.Combine(dir.Path, "report.md"));
        Assert.Contains("**Not identical:**", report);
        Assert.Contains("Differences of `fr-1024`", report);
        Assert.Contains($"| {set.Questions[0].Id} | 1 | 5 |", report);
        Assert.Contains("| fr-1024 | 0 / 2 |", report);
        Assert.Contains("GSM8K accuracy", report);
    }

    [Fact]
    public void Report_ScoresGsm8kAnswers()
    {
        using var dir = new TempDir();
        var set = QuestionSet.Load(RepoFiles.Data("gsm8k_80.jsonl")).Select(null, 4);
        var right = new FakeDecoder("vanilla") { AnswerText = "Adding up... The answer is " + Gsm8kScorer.ExtractReference(set.Questions[0].References[0]) + "." };
        var methods = new List<BenchmarkMethod> { new(MethodSpec.Vanilla, right) };
        Runner().Run(set, methods, Settings(set), dir.Path);
        var r = BenchmarkReport.Write(dir.Path, set);
        // The fixed answer is right for question 0 only (the first four GSM8K answers differ).
        Assert.Equal(new Score(1, 4), r.Gsm8kAccuracy!["vanilla"]);
    }

    [Fact]
    public void Report_ScoresHumanEvalOrSaysWhyNot()
    {
        using var dir = new TempDir();
        var set = QuestionSet.Load(RepoFiles.Data("human_eval.jsonl")).Select(null, 2);
        var p0 = set.Questions[0].HumanEval!;
        var good = new FakeDecoder("vanilla") { AnswerText = "```python\n" + p0.Prompt + p0.CanonicalSolution + "```" };
        Runner().Run(set, new List<BenchmarkMethod> { new(MethodSpec.Vanilla, good) }, Settings(set, 2000), dir.Path);

        var r = BenchmarkReport.Write(dir.Path, set, new ScoringOptions { HumanEvalTimeout = TimeSpan.FromSeconds(20) });
        if (HumanEvalScorer.ProbePython().Available)
        {
            Assert.Equal(new Score(1, 2), r.HumanEvalPass!["vanilla"]); // right for HumanEval/0, wrong for HumanEval/1
            Assert.Equal("HumanEval/1", Assert.Single(r.HumanEvalFailures!["vanilla"]).TaskId);
            Assert.Contains("HumanEval pass@1 | 50.0% (1/2)", File.ReadAllText(Path.Combine(dir.Path, "report.md")));
        }
        var missing = BenchmarkReport.Write(dir.Path, set, new ScoringOptions { Python = "python3-that-does-not-exist" });
        Assert.Null(missing.HumanEvalPass);
        Assert.Contains("NOT SCORED", missing.HumanEvalNote);
        Assert.Contains("HumanEval: NOT SCORED", File.ReadAllText(Path.Combine(dir.Path, "report.md")));
    }
}
