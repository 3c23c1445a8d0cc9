using System.Text.Json;
using FrSpec.Benchmarks;
using FrSpec.Cli;
using FrSpec.Cli.Commands;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Synthesis;
using FrSpec.Tests.Cli;

namespace FrSpec.Tests.Speculative;

/// <summary>
/// The drafters through the CLI on a tiny Llama-3-shaped model with the real tokenizer: synth-eagle --format eagle3,
/// synth-medusa, generate --method for each drafter (same ids as vanilla under greedy, the method named in --json),
/// its errors, bench components and a bench spec run with every drafter and an FR-Spec list.
/// </summary>
public class DrafterCliTests
{
    private static readonly Lazy<(string Model, string Eagle3, string Medusa, string Draft, string Freq)> Pair = new(() =>
    {
        string root = TestModels.NewTempDir();
        string model = Path.Combine(root, "tiny-llama3");
        ModelSynthesizer.Write(SynthSpec.Preset("tiny-llama3") with { Layers = 3 }, model, FrSpec.Numerics.DType.BF16, 21, TestAssets.TokenizerJson("llama3"));
        string eagle3 = Path.Combine(root, "eagle3"), medusa = Path.Combine(root, "medusa");
        Assert.Equal(0, Program.BuildRoot().Parse(["synth-eagle", "--model", model, "--out", eagle3, "--format", "eagle3", "--draft-vocab", "4096"]).Invoke());
        Assert.Equal(0, Program.BuildRoot().Parse(["synth-medusa", "--model", model, "--out", medusa, "--heads", "2", "--format", "pt"]).Invoke());
        string choices = Path.Combine(medusa, "choices.json");
        File.WriteAllText(choices, "[[0], [1], [0, 0], [0, 1], [1, 0]]");
        string freq = Path.Combine(root, "freq_8192.pt");
        FrSpec.Formats.Torch.TorchCheckpointWriter.WriteIntList(freq, Enumerable.Range(0, 8192).ToArray());
        return (model, eagle3, medusa, DrafterFixtures.Copy(model), freq);
    });

    private static (int Code, string Stdout, string Stderr) Cli(params string[] args) => CliProcess.Run(args);

    private static JsonElement Generate(params string[] args)
    {
        var (code, stdout, stderr) = Cli(["generate", "--model", Pair.Value.Model, "--max-tokens", "16", "--json", .. args, "The quick brown fox"]);
        Assert.True(code == 0, $"frspec generate {string.Join(' ', args)}: {stderr}");
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    private static int[] Ids(JsonElement e) => e.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();

    [Fact]
    public void GenerateRunsEveryDrafterWithVanillasOutput()
    {
        var (model, eagle3, medusa, draft, freq) = Pair.Value;
        Assert.True(Eagle3Head.IsEagle3Directory(eagle3));
        var vanilla = Generate();
        Assert.Equal("vanilla", vanilla.GetProperty("method").GetString());
        foreach (var (args, name) in new (string[], string)[]
        {
            (["--eagle", eagle3], "eagle3"),
            (["--eagle", eagle3, "--fr", freq], "eagle3-fr-8192"),
            (["--eagle", eagle3, "--fr-size", "auto"], "eagle3-fr-auto"),   // V' chosen among the bundled 8k/16k/32k and the head's own
            (["--draft-model", draft, "--draft-max", "4", "--draft-p-min", "0"], "draft"),
            (["--draft-model", draft, "--draft-tree", "--fr", freq], "draft-fr-8192"),
            (["--medusa", medusa, "--medusa-choices", Path.Combine(medusa, "choices.json")], "medusa"),
            (["--medusa", medusa, "--medusa-choices", Path.Combine(medusa, "choices.json"), "--fr", freq], "medusa-fr-8192"),
            (["--method", "lookup", "--lookup-tokens", "4"], "lookup"),
        })
        {
            var r = Generate(args);
            Assert.Equal(name, r.GetProperty("method").GetString());
            Assert.Equal(Ids(vanilla), Ids(r));
            // the tree drafters use the automatic tree by default (--tree auto) and report what it chose
            if (!name.StartsWith("medusa", StringComparison.Ordinal) && name != "lookup")
            {
                var tree = r.GetProperty("tree");
                Assert.True(tree.GetProperty("auto").GetBoolean(), name);
                if (name == "draft")   // a chain of at most --draft-max 4
                    Assert.True(tree.GetProperty("topk").GetInt32() == 1 && tree.GetProperty("tokens").GetInt32() <= 5, tree.ToString());
            }
        }
        // the draft is the target itself: with no probability cut-off every chain of exactly --draft-max (--tree fixed) is accepted whole
        var full = Generate("--draft-model", draft, "--draft-max", "3", "--draft-p-min", "0", "--tree", "fixed");
        Assert.All(full.GetProperty("accept_lengths").EnumerateArray().SkipLast(1), a => Assert.Equal(4, a.GetInt32()));
    }

    [Fact]
    public void GenerateRefusesInconsistentDrafterFlags()
    {
        var (model, eagle3, medusa, _, freq) = Pair.Value;
        (int, string, string) Run(params string[] a) => Cli(["generate", "--model", model, "--max-tokens", "2", .. a, "Hi"]);
        var (code, _, err) = Run("--method", "draft");
        Assert.Equal(1, code); Assert.Contains("method draft needs --draft-model", err);
        (code, _, err) = Run("--method", "lookup", "--fr", freq);
        Assert.Equal(1, code); Assert.Contains("no draft LM head", err);
        (code, _, err) = Run("--eagle", eagle3, "--medusa", medusa);
        Assert.Equal(1, code); Assert.Contains("choose one with --method", err);
        (code, _, err) = Run("--method", "eagle2", "--eagle", eagle3);
        Assert.Equal(1, code); Assert.Contains("EAGLE-3 head", err);
        (code, _, err) = Run("--medusa", medusa);   // mc_sim_7b_63 is 4 deep, the heads 2
        Assert.Equal(1, code); Assert.Contains("4 deep", err);
        (code, _, err) = Run("--draft-model", "/no/such/dir");
        Assert.Equal(1, code); Assert.Contains("--draft-model /no/such/dir", err);
        (code, _, err) = Run("--method", "medusa", "--medusa", medusa, "--medusa-nodes", "0");
        Assert.Equal(1, code); Assert.Contains("--medusa-nodes", err);
        (code, _, err) = Run("--medusa", medusa, "--fr-size", "auto");   // a static tree: nothing chooses V'
        Assert.Equal(1, code); Assert.Contains("--fr-size auto: only the automatic tree of EAGLE-2, EAGLE-3 and draft models", err);
        (code, _, err) = Run("--eagle", eagle3, "--fr-size", "auto", "--tree", "fixed");
        Assert.Equal(1, code); Assert.Contains("--fr-size auto needs the automatic tree", err);
    }

    [Fact]
    public void BenchComponentsAndBenchSpecCoverEveryDrafter()
    {
        var (model, eagle3, medusa, draft, freq) = Pair.Value;
        var (code, stdout, stderr) = Cli("bench", "components", "--model", model, "--eagle", eagle3, "--draft-model", draft, "--medusa", medusa, "--lookup",
            "--fr", freq, "--rows", "2", "--context", "16", "--repeat", "1", "--tree-tokens", "1", "4", "--prefill", "0");
        Assert.True(code == 0, stderr);
        foreach (var section in new[] { "EAGLE-3 draft step (2 rows)", "a chain) (1 row)", "a tree) (2 rows)", "Medusa draft", "prompt lookup search", "Verify T tokens" })
            Assert.Contains(section, stdout);

        string outDir = TestModels.NewTempDir();
        int rc = BenchSpecCommand.Execute(new BenchSpecCommand.Args
        {
            Model = model, Fr = [freq], Data = "gsm8k", Out = outDir, Limit = 1, MaxTokens = 8, Warmup = 0, NoExec = true,
            Methods = ["eagle3", "draft", "medusa", "lookup"],
            Drafters = new DrafterInputs { Eagle = eagle3, DraftModel = draft, Medusa = medusa, MedusaTree = MedusaTree.Load(Path.Combine(medusa, "choices.json")) },
        }, TextWriter.Null);
        Assert.Equal(0, rc);
        foreach (var m in new[] { "vanilla", "eagle3", "eagle3-fr-8192", "draft", "draft-fr-8192", "medusa", "medusa-fr-8192", "lookup" })
            Assert.True(File.Exists(Path.Combine(outDir, m + ".jsonl")), m);
        string report = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains("**Identical:**", report);
        Assert.Contains("FR-Spec over the same drafter's full LM head", report);
        Assert.Contains("draft-fr-8192 / draft", report);
        // the run's methods parse back for --report-only
        Assert.Equal(0, BenchSpecCommand.Execute(new BenchSpecCommand.Args { Out = outDir, ReportOnly = true }, TextWriter.Null));
    }

    [Fact]
    public void MethodSpecsRoundTrip()
    {
        foreach (var text in new[] { "vanilla", "eagle2", "fr:/a/freq_8192.pt", "eagle3", "eagle3-fr:x.pt", "draft", "draft-fr:/d/freq_16384.pt", "medusa", "medusa-fr:m.pt", "lookup" })
            Assert.Equal(text, MethodSpec.Parse(text).ToString());
        Assert.Equal(MethodKind.FrSpec, MethodSpec.WithFr(MethodKind.Eagle2, "f.pt").Kind);
        Assert.Throws<FrSpecException>(() => MethodSpec.WithFr(MethodKind.Lookup, "f.pt"));
        Assert.Throws<FrSpecException>(() => MethodSpec.Parse("lookup-fr:f.pt"));
        Assert.Throws<FrSpecException>(() => MethodSpec.Parse("eagle2-fr:f.pt"));
    }
}
