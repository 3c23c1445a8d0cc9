using System.Text.Json;
using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Tests.Cli;

namespace FrSpec.Tests.Sessions;

/// <summary>
/// README's "Using the library" example and `frspec generate --json` agree: the same frequency file gives the same
/// FR-Spec subset and the same tokens through the library and through the CLI (run as its own process), on a
/// synthesized tiny Llama-3 with the real tokenizer and the Llama-3 subset bundled in data/fr/.
/// </summary>
public class LibraryExampleTests
{
    private static (string Model, string Eagle) TinyPair()
    {
        string model = Path.Combine(TestModels.NewTempDir(), "tiny-llama3");
        FrSpec.Synthesis.ModelSynthesizer.Write(FrSpec.Synthesis.SynthSpec.Preset("tiny-llama3"), model, FrSpec.Numerics.DType.BF16, 17, TestAssets.TokenizerJson("llama3"));
        string eagle = Path.Combine(TestModels.NewTempDir(), "eagle");
        FrSpec.Synthesis.EagleSynthesizer.Write(model, eagle, "safetensors", 18);
        return (model, eagle);
    }

    /// <summary>The CLI's cache for this test: the library run below measures the automatic tree's costs into it, the CLI reads them.</summary>
    private static readonly string Cache = TestModels.NewTempDir();

    private static JsonElement Cli(params string[] args)
    {
        var (code, stdout, stderr) = CliProcess.Run(new Dictionary<string, string> { ["FRSPEC_CACHE"] = Cache }, args);
        Assert.True(code == 0, $"frspec {string.Join(' ', args)} failed: {stderr}");
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    [Fact]
    public void ReadmeExampleGivesTheCliSubsetAndOutput()
    {
        var (modelDir, eagleDir) = TinyPair();
        string freq = Path.Combine(RepoRoot(), "data", "fr", "llama3", "freq_16384.pt");

        // README, "Using the library" (paths replaced), with the automatic tree's costs kept where the CLI keeps them: with
        // the same costs both choose the same trees, so even sampled output is the same
        using var model = LanguageModel.Load(modelDir);
        var fr = model.Vocabulary.LoadDraftVocabulary(freq);
        var auto = new FrSpec.Speculative.AutoTree.AutoTreeOptions { CostCacheDirectory = Path.Combine(Cache, "tree-costs") };
        using var session = model.CreateSession(DecodingMethod.Eagle(eagleDir, [fr], auto));
        var result = session.Generate("The capital of France is",
            new GenerationOptions { MaxNewTokens = 64, Sampling = new SamplingOptions(Temperature: 0.7f, TopP: 0.9f, Seed: 1) });
        string text = model.Vocabulary.Decode(result.Ids);

        var cli = Cli("generate", "--model", modelDir, "--eagle", eagleDir, "--fr", freq, "--max-tokens", "64",
            "--temperature", "0.7", "--top-p", "0.9", "--seed", "1", "--json", "The capital of France is");
        Assert.Equal("fr-16384", cli.GetProperty("method").GetString());
        var cliVocabulary = cli.GetProperty("draft_vocabulary");
        Assert.Equal(fr.Count, cliVocabulary.GetProperty("size").GetInt32());
        Assert.Equal(fr.Fingerprint, cliVocabulary.GetProperty("sha256").GetString());
        Assert.Equal(result.Ids, cli.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(result.Tree!.TotalTokens, cli.GetProperty("tree").GetProperty("tokens").GetInt32());
        Assert.True(cli.GetProperty("tree").GetProperty("auto").GetBoolean());
        // explicit --tree-* flags fix the tree, as DecodingMethod.Eagle(dir, fr, tree) does
        var fixedCli = Cli("generate", "--model", modelDir, "--eagle", eagleDir, "--fr", freq, "--max-tokens", "8", "--tree-depth", "2", "--tree-tokens", "6", "--json", "Hello");
        var fixedTree = fixedCli.GetProperty("tree");
        Assert.False(fixedTree.GetProperty("auto").GetBoolean());
        Assert.Equal((2, 8, 6), (fixedTree.GetProperty("depth").GetInt32(), fixedTree.GetProperty("topk").GetInt32(), fixedTree.GetProperty("tokens").GetInt32()));
        Assert.Equal(text, cli.GetProperty("text").GetString());
        Assert.True(result.Ids.Length > 0);
        Assert.All(model.Vocabulary.ControlIds, id => Assert.Contains(id, fr.Ids));

        // --fr-size N without a file beside the model or head: the bundled Llama-3 counts, the same subset either way
        var bundled = model.Vocabulary.FindDraftVocabulary(8192, eagleDir);
        Assert.StartsWith("bundled llama3", bundled.Source);
        var cliBundled = Cli("generate", "--model", modelDir, "--eagle", eagleDir, "--fr-size", "8192", "--max-tokens", "8", "--json", "Hello");
        Assert.Equal(bundled.Fingerprint, cliBundled.GetProperty("draft_vocabulary").GetProperty("sha256").GetString());
        using var greedy = model.CreateSession(DecodingMethod.Eagle(eagleDir, bundled));
        Assert.Equal(greedy.Generate("Hello", new GenerationOptions { MaxNewTokens = 8 }).Ids,
            cliBundled.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
    }

    private static string RepoRoot() => FrSpec.Cli.BenchmarkDataLocator.FindRepositoryRoot() ?? throw new InvalidOperationException("repository root not found");
}
