using FrSpec.Benchmarks;
using FrSpec.Cli;
using FrSpec.Cli.Commands;

namespace FrSpec.Tests.Benchmarks;

public class BenchSpecCommandTests
{
    [Theory]
    [InlineData("spec-bench", "spec_bench.jsonl")]
    [InlineData("humaneval", "human_eval.jsonl")]
    [InlineData("GSM8K", "gsm8k_80.jsonl")]
    [InlineData("alpaca", "alpaca_80.jsonl")]
    public void Data_BuiltInNamesResolveToTheRepositoryCopy(string name, string file)
    {
        var path = BenchmarkDataLocator.Resolve(name);
        Assert.Equal(RepoFiles.Data(file), path);
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void Data_PathIsTakenAsIs_UnknownNameIsAnError()
    {
        Assert.Equal(RepoFiles.Data("gsm8k_80.jsonl"), BenchmarkDataLocator.Resolve(RepoFiles.Data("gsm8k_80.jsonl")));
        var e = Assert.Throws<FrSpecException>(() => BenchmarkDataLocator.Resolve("mmlu"));
        Assert.Contains("mmlu", e.Message);
    }

    /// <summary>A synthesized tiny Llama-3 (real tokenizer), a random EAGLE head in the given format, and a freq list of the first ids.</summary>
    private static (string model, string eagle, string freq) TinyPair(FrSpec.Numerics.DType dtype, string headFormat, int frSize, ulong seed)
    {
        string model = Path.Combine(TestModels.NewTempDir(), "tiny-llama3");
        FrSpec.Synthesis.ModelSynthesizer.Write(FrSpec.Synthesis.SynthSpec.Preset("tiny-llama3"), model, dtype, seed, TestAssets.TokenizerJson("llama3"));
        string eagle = Path.Combine(TestModels.NewTempDir(), "eagle");
        FrSpec.Synthesis.EagleSynthesizer.Write(model, eagle, headFormat, seed + 1);
        string freq = Path.Combine(TestModels.NewTempDir(), $"freq_{frSize}.pt");
        FrSpec.Formats.Torch.TorchCheckpointWriter.WriteIntList(freq, Enumerable.Range(0, frSize).ToArray());
        return (model, eagle, freq);
    }

    [Fact]
    public void MethodSpecs_BuildNamedSessionsOnOneSharedModel()
    {
        var (dir, eagle, freq) = TinyPair(FrSpec.Numerics.DType.F32, "safetensors", 4096, 3);
        using var model = FrSpec.Sessions.LanguageModel.Load(dir);
        var tree = FrSpec.Speculative.TreeOptions.Default;
        Assert.Equal("vanilla", model.CreateSession(MethodSpec.Vanilla.ToDecodingMethod(model, eagle)).Name);
        Assert.Equal("eagle2", model.CreateSession(MethodSpec.Eagle2.ToDecodingMethod(model, eagle)).Name);
        Assert.Equal("fr-4096", model.CreateSession(MethodSpec.Fr(freq).ToDecodingMethod(model, eagle)).Name);
        Assert.Equal("fr-auto", model.CreateSession(MethodSpec.FrAuto([freq]).ToDecodingMethod(model, eagle)).Name);
        var fixedTree = MethodSpec.Fr(freq).WithTree(tree);
        var method = (FrSpec.Sessions.EagleMethod)fixedTree.ToDecodingMethod(model, eagle);
        Assert.Equal(tree, method.Tree);
        Assert.Null(((FrSpec.Sessions.EagleMethod)MethodSpec.Fr(freq).ToDecodingMethod(model, eagle)).Tree); // automatic
        Assert.Equal("fr-4096-d4k8t16", fixedTree.Label("fr-4096"));
        Assert.Throws<FrSpecException>(() => MethodSpec.Eagle2.ToDecodingMethod(model, (string?)null));
        Assert.Throws<FrSpecException>(() => MethodSpec.FrAuto([freq]).WithTree(tree).ToDecodingMethod(model, eagle));
        Assert.Same(model.EagleHead(eagle), model.EagleHead(eagle + "/")); // one head per directory, shared by the sessions
    }

    [Fact]
    public void SmokeRun_OnATinySynthesizedModel_AllMethodsIdenticalToVanilla()
    {
        var (model, eagle, freq) = TinyPair(FrSpec.Numerics.DType.BF16, "bin", 8192, 5);
        string outDir = TestModels.NewTempDir();
        int rc = BenchSpecCommand.Execute(new BenchSpecCommand.Args
        {
            Model = model, Eagle = eagle, Fr = [freq], Data = "gsm8k", Out = outDir, Limit = 2, MaxTokens = 10, Warmup = 0, NoExec = true,
        }, TextWriter.Null);
        Assert.Equal(0, rc);
        foreach (var m in new[] { "vanilla", "eagle2", "fr-8192" }) Assert.True(File.Exists(Path.Combine(outDir, m + ".jsonl")), m);
        string report = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains("**Identical:**", report);
        Assert.DoesNotContain("**Not identical:**", report);
        Assert.Contains("## Trees", report); // what the automatic tree chose, per method
    }

    [Fact]
    public void GridRun_ComparesTheAutomaticTreeWithEveryFixedTree()
    {
        var (model, eagle, freq) = TinyPair(FrSpec.Numerics.DType.BF16, "safetensors", 8192, 7);
        string outDir = TestModels.NewTempDir();
        var args = new BenchSpecCommand.Args
        {
            Model = model, Eagle = eagle, Fr = [freq], Data = "gsm8k", Out = outDir, Limit = 1, MaxTokens = 8, Warmup = 0, NoExec = true,
            FrAuto = true, Grid = true, GridDepth = [1, 2], GridTopK = [2], GridTokens = [4, 8],
        };
        Assert.Equal(0, BenchSpecCommand.Execute(args, TextWriter.Null));
        var expected = new[] { "vanilla", "eagle2", "fr-8192", "fr-auto", "eagle2-d1k2t4", "eagle2-d2k2t8", "fr-8192-d1k2t4", "fr-8192-d2k2t4", "fr-8192-d2k2t8" };
        foreach (var m in expected) Assert.True(File.Exists(Path.Combine(outDir, m + ".jsonl")), m);
        Assert.False(File.Exists(Path.Combine(outDir, "eagle2-d1k2t8.jsonl"))); // depth 1, top-k 2 holds at most 7 tokens
        var results = BenchmarkResults.Compute(outDir, null);
        Assert.Equal(2, results.Grids.Count);
        Assert.All(results.Grids, g => Assert.True(g.AutoVsBest > 0));
        Assert.Equal("eagle2", results.Eagle2Method);
        Assert.All(results.Differences!.Values, d => Assert.Empty(d));
        string report = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains("## Tree grid: `eagle2`", report);
        Assert.Contains("## Tree grid: `fr-8192`", report);
        // every turn records its tree: fixed ones as given, automatic ones as chosen
        var grid = AnswerFile.ReadAll(Path.Combine(outDir, "fr-8192-d2k2t8.jsonl")).SelectMany(a => a.Turns).Select(t => t.Tree!).ToList();
        Assert.All(grid, p => Assert.Equal((2, 2, 8), (p.Depth, p.TopK, p.TotalTokens)));
        Assert.All(grid, p => Assert.False(p.Auto));
        var auto = AnswerFile.ReadAll(Path.Combine(outDir, "fr-auto.jsonl")).SelectMany(a => a.Turns).Select(t => t.Tree!).ToList();
        Assert.All(auto, p => Assert.True(p.Auto));
        Assert.All(auto, p => Assert.Contains(p.DraftVocabularySize, new[] { 8192, 128256 }));
    }

    [Fact]
    public void Verb_IsRegisteredUnderBenchWithItsOptions()
    {
        var bench = Program.BuildRoot().Subcommands.Single(c => c.Name == "bench");
        var spec = bench.Subcommands.Single(c => c.Name == "spec");
        var names = spec.Options.Select(o => o.Name).ToHashSet();
        foreach (var o in new[] { "--model", "--eagle", "--fr", "--data", "--out", "--limit", "--categories", "--max-tokens", "--temperature", "--seed", "--report-only" })
            Assert.Contains(o, names);
        var parsed = Program.BuildRoot().Parse(new[] { "bench", "spec", "--out", "o", "--fr", "a.pt", "b.pt", "--categories", "qa", "rag", "--limit", "3" });
        Assert.Empty(parsed.Errors);
        Assert.Equal(new[] { "a.pt", "b.pt" }, parsed.GetValue<string[]>("--fr"));
        Assert.Equal(new[] { "qa", "rag" }, parsed.GetValue<string[]>("--categories"));
        Assert.Equal(3, parsed.GetValue<int?>("--limit"));
    }

    [Fact]
    public void Execute_ChecksArgumentsBeforeLoadingAnything()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<FrSpecException>(() => BenchSpecCommand.Execute(new BenchSpecCommand.Args { Out = dir.Path, Data = "gsm8k", Model = dir.Path, Fr = new[] { "x.pt" } }, TextWriter.Null));
        Assert.Contains("--fr needs a drafter with an LM head", e.Message);
        e = Assert.Throws<FrSpecException>(() => BenchSpecCommand.Execute(new BenchSpecCommand.Args { Out = dir.Path, Data = "gsm8k" }, TextWriter.Null));
        Assert.Contains("--model is required", e.Message);
    }

    [Fact]
    public void ReportOnly_RebuildsTheReportFromAnswerFiles()
    {
        using var dir = new TempDir();
        var set = QuestionSet.Load(RepoFiles.Data("gsm8k_80.jsonl")).Select(null, 2);
        var runner = new BenchmarkRunner(new FakeTokenizer(), FakeTemplate.Render, new[] { FakeTokenizer.EndOfTurn }) { WarmupTokens = 0 };
        runner.Run(set, new List<BenchmarkMethod>
            {
                new(MethodSpec.Vanilla, new FakeDecoder("vanilla")),
                new(MethodSpec.Eagle2, new FakeDecoder("eagle2") { ChunkSize = 3 }),
            },
            new BenchmarkSettings { DataSet = set.Name, Kind = set.Kind, Model = "fake", MaxNewTokens = 64 }, dir.Path);
        var console = new StringWriter();
        // Without --data the run's own question set is used; another set is refused.
        int rc = BenchSpecCommand.Execute(new BenchSpecCommand.Args { Out = dir.Path, ReportOnly = true }, console);
        var wrong = Assert.Throws<FrSpecException>(() => BenchSpecCommand.Execute(new BenchSpecCommand.Args { Out = dir.Path, Data = "alpaca", ReportOnly = true }, TextWriter.Null));
        Assert.Contains("are for gsm8k_80, not alpaca_80", wrong.Message);
        Assert.Equal(0, rc);
        Assert.Contains("all outputs identical to vanilla", console.ToString());
        Assert.True(File.Exists(Path.Combine(dir.Path, "report.md")));
        Assert.True(File.Exists(Path.Combine(dir.Path, "speedup.png")));
    }
}
