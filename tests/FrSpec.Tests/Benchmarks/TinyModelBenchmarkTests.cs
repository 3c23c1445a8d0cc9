using System.Text;
using FrSpec.Benchmarks;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Sessions;
using FrSpec.Synthesis;
using FrSpec.Text;

namespace FrSpec.Tests.Benchmarks;

/// <summary>
/// The harness end to end on real parts: a synthesized tiny Llama-3 model with the real Llama-3 tokenizer, decoded
/// by the real vanilla decoder (twice, under two names, standing in for a speculative method that must match it).
/// </summary>
public class TinyModelBenchmarkTests
{
    /// <summary>A decoder under another name (a stand-in for a lossless speculative decoder).</summary>
    sealed class Renamed(string name, IDecoder inner) : IDecoder
    {
        public string Name => name;
        public GenerationResult Generate(ReadOnlySpan<int> prompt, GenerationOptions options, Action<int>? onToken = null, CancellationToken cancel = default) =>
            inner.Generate(prompt, options, onToken, cancel);
    }

    /// <summary>Llama-3's chat format (what its chat_template renders), written out here.</summary>
    static string Llama3Prompt(IReadOnlyList<ChatMessage> messages)
    {
        var sb = new StringBuilder("<|begin_of_text|>");
        foreach (var m in messages) sb.Append($"<|start_header_id|>{m.Role}<|end_header_id|>\n\n{m.Content?.Trim()}<|eot_id|>");
        return sb.Append("<|start_header_id|>assistant<|end_header_id|>\n\n").ToString();
    }

    [Fact]
    public void TinyLlama3_VanillaRun_WritesIdenticalAnswersAndAReport()
    {
        using var dir = new TempDir();
        var modelDir = Path.Combine(dir.Path, "tiny-llama3");
        ModelSynthesizer.Write(SynthSpec.Preset("tiny-llama3"), modelDir, DType.BF16, 7, TestAssets.TokenizerJson("llama3"));
        using var model = LanguageModel.Load(modelDir);
        var tokenizer = model.Vocabulary.Tokenizer!;
        var stops = model.Vocabulary.StopTokens;
        Assert.Contains(tokenizer.TokenToId("<|eot_id|>")!.Value, stops);

        var methods = new List<BenchmarkMethod>
        {
            new(MethodSpec.Vanilla, model.CreateSession()),
            new(MethodSpec.Eagle2, new Renamed("eagle2", model.CreateSession())),
        };
        var spec = QuestionSet.Load(RepoFiles.Data("spec_bench.jsonl"));
        var set = new QuestionSet(spec.Name, spec.Kind, spec.Select(new[] { "writing", "math_reasoning" }, 1).Questions);
        var outDir = Path.Combine(dir.Path, "out");
        var runner = new BenchmarkRunner(tokenizer, Llama3Prompt, stops) { WarmupTokens = 2 };
        var settings = new BenchmarkSettings { DataSet = set.Name, Kind = set.Kind, Model = "tiny-llama3", MaxNewTokens = 12 };
        var summary = runner.Run(set, methods, settings, outDir);
        Assert.Equal(4, summary.Generated);

        var answers = AnswerFile.ReadAll(Path.Combine(outDir, "vanilla.jsonl"));
        Assert.Equal(2, answers[0].Turns.Count); // the MT-bench writing question has two turns
        foreach (var t in answers.SelectMany(a => a.Turns))
        {
            Assert.InRange(t.TokenIds.Length, 1, 12);
            Assert.True(t.WallTime > 0);
            Assert.Equal(tokenizer.Decode(t.TokenIds.Where(id => !stops.Contains(id)).ToArray(), skipSpecialTokens: true).Trim(), t.Text);
        }

        var r = BenchmarkReport.Write(outDir, set);
        Assert.Empty(r.Differences!["eagle2"]); // same decoder, same greedy ids
        Assert.Equal(1.0, r.Stats["vanilla"][BenchmarkResults.Overall].MeanAcceptLength);
        Assert.True(r.Stats["vanilla"][BenchmarkResults.Overall].TokensPerSecond > 0);
        Assert.Contains("**Identical:**", File.ReadAllText(Path.Combine(outDir, "report.md")));
    }
}
