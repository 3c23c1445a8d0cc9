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

    [Fact]
    public void DecoderFactory_IsASeamThatSaysItIsNotWired()
    {
        var e = Assert.Throws<FrSpecException>(() => DecoderFactory.Create("/m", "/e", MethodSpec.Eagle2));
        Assert.Contains("engine not wired yet", e.Message);
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
        Assert.Contains("--fr needs --eagle", e.Message);
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
