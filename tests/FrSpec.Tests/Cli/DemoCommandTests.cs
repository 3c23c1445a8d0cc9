using System.Text.Json;
using FrSpec.Cli.Commands;
using FrSpec.Synthesis;

namespace FrSpec.Tests.Cli;

/// <summary>`frspec demo` on a tiny synthesized pair: the --json shape, the identity statement, and the cached expansion.</summary>
public class DemoCommandTests
{
    private static (string Model, string Eagle) TinyPair(ulong seed)
    {
        string model = Path.Combine(TestModels.NewTempDir(), "tiny-llama3");
        ModelSynthesizer.Write(SynthSpec.Preset("tiny-llama3"), model, FrSpec.Numerics.DType.BF16, seed, TestAssets.TokenizerJson("llama3"));
        string eagle = Path.Combine(TestModels.NewTempDir(), "eagle");
        EagleSynthesizer.Write(model, eagle, "safetensors", seed + 1);
        return (model, eagle);
    }

    private static JsonElement Run(DemoCommand.Args a, out string stderr)
    {
        var stdout = new StringWriter();
        var err = new StringWriter();
        Assert.Equal(0, DemoCommand.Execute(a with { Json = true }, stdout, err));
        stderr = err.ToString();
        return JsonDocument.Parse(stdout.ToString()).RootElement.Clone();
    }

    private static void AssertMethods(JsonElement json, params string[] names)
    {
        var methods = json.GetProperty("methods").EnumerateArray().ToList();
        Assert.Equal(names, methods.Select(m => m.GetProperty("name").GetString()));
        foreach (var m in methods)
        {
            Assert.True(m.GetProperty("tokens_per_second").GetDouble() > 0);
            Assert.True(m.GetProperty("mean_accept_length").GetDouble() >= 1);
            Assert.True(m.GetProperty("speedup_vs_vanilla").GetDouble() > 0);
            Assert.True(m.GetProperty("identical_to_vanilla").GetBoolean());
            var tree = m.GetProperty("tree");
            if (m.GetProperty("name").GetString() == "vanilla") { Assert.Equal(JsonValueKind.Null, tree.ValueKind); continue; }
            Assert.True(tree.GetProperty("auto").GetBoolean());
            foreach (var key in new[] { "speculative", "depth", "topk", "tokens", "draft_vocabulary_size", "predicted_accept_length", "predicted_tokens_per_second" })
                Assert.True(tree.TryGetProperty(key, out _), key);
        }
        Assert.Equal(1.0, methods[0].GetProperty("speedup_vs_vanilla").GetDouble());
        Assert.True(json.GetProperty("identical").GetBoolean());
    }

    [Fact]
    public void Small_json_lists_every_method_with_its_tree_and_the_identity_statement()
    {
        var (model, eagle) = TinyPair(31);
        var json = Run(new DemoCommand.Args { Model = model, Eagle = eagle, Small = true, MaxTokens = 6, Prompts = ["Hello world", "def f(x):"], FrSizes = [8192, 16384] }, out _);
        AssertMethods(json, "vanilla", "eagle2", "fr-8192", "fr-16384");
        var info = json.GetProperty("model");
        Assert.False(info.GetProperty("cost_model").GetBoolean());
        Assert.Equal(JsonValueKind.Null, info.GetProperty("shape").ValueKind);
        Assert.Equal(128256, info.GetProperty("vocab_size").GetInt32());
        Assert.Equal(2, json.GetProperty("prompts").GetInt32());
    }

    [Fact]
    public void Expanded_pair_is_built_once_reused_and_rebuilt_when_the_pair_changes()
    {
        var (model, eagle) = TinyPair(33);
        string cache = TestModels.NewTempDir();
        var shape = new ExpansionShape("tiny-x2", 128, 384, 3, 8 * 16, 4 * 16, true);
        var args = new DemoCommand.Args { Model = model, Eagle = eagle, CustomShape = shape, CacheRoot = cache, MaxTokens = 6, Prompts = ["Hello world"], FrSizes = [8192, 16384] };
        var json = Run(args, out string first);
        Assert.Contains("building the tiny-x2-shape expansion", first);
        // the FR-Spec method chooses V' itself and is named after the one it used
        var names = json.GetProperty("methods").EnumerateArray().Select(m => m.GetProperty("name").GetString()).ToList();
        Assert.Equal(["vanilla", "eagle2"], names.Take(2));
        Assert.Contains(names[2], new[] { "fr-8192", "fr-16384" });
        AssertMethods(json, [.. names.Select(n => n!)]);
        var info = json.GetProperty("model");
        Assert.True(info.GetProperty("cost_model").GetBoolean());
        Assert.Equal("tiny-x2", info.GetProperty("shape").GetString());
        Assert.Equal(128, info.GetProperty("hidden_size").GetInt32());
        Assert.Equal(3, info.GetProperty("layers").GetInt32());
        var built = Assert.Single(Directory.GetDirectories(cache));

        Run(args, out string second);
        Assert.DoesNotContain("building", second);
        Assert.Equal(built, Assert.Single(Directory.GetDirectories(cache)));

        // a new pair (another head): a new expansion, the stale one removed
        var (_, otherEagle) = TinyPair(35);
        foreach (var f in Directory.GetFiles(otherEagle)) File.Copy(f, Path.Combine(eagle, Path.GetFileName(f)), overwrite: true);
        Run(args, out string third);
        Assert.Contains("building", third);
        Assert.NotEqual(built, Assert.Single(Directory.GetDirectories(cache)));
    }

    [Fact]
    public void Method_compares_other_drafters_with_vanilla()
    {
        var (model, eagle) = TinyPair(37);
        // the small target drafting for itself (a draft model with its tokenizer), and random Medusa heads for it
        string medusa = FrSpec.Tests.Speculative.DrafterFixtures.Medusa(model, heads: 4, layers: 1, "safetensors", 38);
        var args = new DemoCommand.Args
        {
            Model = model, Eagle = eagle, Small = true, MaxTokens = 6, Prompts = ["Hello world"], FrSizes = [8192],
            Methods = ["lookup", "draft", "medusa"], DraftModel = model, Medusa = medusa,
        };
        var json = Run(args, out _);
        var methods = json.GetProperty("methods").EnumerateArray().ToList();
        Assert.Equal(["vanilla", "lookup", "draft", "draft-fr-8192", "medusa", "medusa-fr-8192"], methods.Select(m => m.GetProperty("name").GetString()));
        Assert.True(json.GetProperty("identical").GetBoolean());
        foreach (var m in methods)
        {
            Assert.True(m.GetProperty("identical_to_vanilla").GetBoolean());
            Assert.True(m.GetProperty("tokens_per_second").GetDouble() > 0);
            Assert.True(m.GetProperty("speedup_vs_vanilla").GetDouble() > 0);
            string name = m.GetProperty("name").GetString()!;
            var tree = m.GetProperty("tree");
            // the draft model's chain is chosen by the automatic tree; lookup and Medusa's static tree report none
            if (name.StartsWith("draft", StringComparison.Ordinal))
            {
                Assert.True(tree.GetProperty("auto").GetBoolean());
                Assert.Equal(1, tree.GetProperty("topk").GetInt32());
            }
            else Assert.Equal(JsonValueKind.Null, tree.ValueKind);
        }
        Assert.Equal(model, json.GetProperty("model").GetProperty("draft_model").GetString());

        // the default still compares EAGLE-2 and FR-Spec; bad names and missing weights are one-line errors
        Assert.Equal(["vanilla", "eagle2"], Run(args with { Methods = ["eagle2"], FrSizes = [] }, out _).GetProperty("methods").EnumerateArray().Select(m => m.GetProperty("name").GetString()));
        var e = Assert.Throws<FrSpecException>(() => DemoCommand.Execute(args with { Methods = ["nope"] }, TextWriter.Null, TextWriter.Null));
        Assert.Contains("--method nope: expected eagle2, lookup, draft, medusa, eagle3", e.Message);
        e = Assert.Throws<FrSpecException>(() => DemoCommand.Execute(args with { Methods = ["eagle3"] }, TextWriter.Null, TextWriter.Null));
        Assert.Contains("--method eagle3 needs --eagle3", e.Message);
        e = Assert.Throws<FrSpecException>(() => DemoCommand.Execute(args with { Methods = ["draft"], DraftModel = "/no/such/model" }, TextWriter.Null, TextWriter.Null));
        Assert.Contains("--draft-model /no/such/model", e.Message);
    }
}
