using System.Text.Json.Nodes;
using FrSpec.Fuzzing;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Tests.Cli;

namespace FrSpec.Tests.Sessions;

/// <summary>Prompts longer than the model's context are refused with a clear error (or cut with --truncate); long prompts prefill in chunks with progress.</summary>
[Collection("Console")]
public class ContextWindowTests
{
    private static readonly EngineOptions Options = new() { Threads = 1 };

    private static string Model(int maxPositions)
    {
        string dir = TestModels.NewTempDir();
        FuzzSeeds.WriteModel(dir);
        string config = Path.Combine(dir, "config.json");
        var o = JsonNode.Parse(File.ReadAllText(config))!.AsObject();
        o["max_position_embeddings"] = maxPositions;
        File.WriteAllText(config, o.ToJsonString());
        return dir;
    }

    [Fact]
    public void A_prompt_beyond_the_context_is_refused_before_any_work()
    {
        using var m = LanguageModel.Load(Model(64), Options);
        using var s = m.CreateSession();
        var prompt = Enumerable.Range(0, 80).Select(i => 1 + i % 200).ToArray();
        var e = Assert.Throws<FrSpecException>(() => s.Generate(prompt, new GenerationOptions { MaxNewTokens = 4 }));
        Assert.Contains("80 tokens", e.Message);
        Assert.Contains("max_position_embeddings", e.Message);
        e = Assert.Throws<FrSpecException>(() => s.Generate(prompt[..50], new GenerationOptions { MaxNewTokens = 20 }));
        Assert.Contains("at most 14", e.Message);
        Assert.Equal(14, s.Generate(prompt[..50], new GenerationOptions { MaxNewTokens = 14, StopIds = [] }).Ids.Length);
        Assert.Contains("max new tokens", Assert.Throws<FrSpecException>(() => s.Generate(prompt[..5], new GenerationOptions { MaxNewTokens = -1 })).Message);
    }

    [Fact]
    public void The_sliding_window_is_the_limit_of_a_model_that_declares_one()
    {
        var spec = TestModels.TinyLlama() with { Family = "mistral", Llama3RopeFactor = null, TieWordEmbeddings = false, SlidingWindow = 16 };
        using var m = LanguageModel.Load(TestModels.Dir(spec), Options);
        var e = Assert.Throws<FrSpecException>(() => m.CreateSession().Generate(Enumerable.Range(1, 20).ToArray(), new GenerationOptions { MaxNewTokens = 2 }));
        Assert.Contains("sliding_window of 16", e.Message);
    }

    [Fact]
    public void A_context_whose_kv_cache_cannot_fit_in_memory_is_refused()
    {
        var c = new ModelConfig
        {
            Architecture = "LlamaForCausalLM", ModelType = "llama", HiddenSize = 4096, IntermediateSize = 14336, NumLayers = 32, NumHeads = 32, NumKvHeads = 8,
            HeadDim = 128, VocabSize = 128256, MaxPositions = int.MaxValue,
        };
        Assert.Equal(2L * 32 * 8 * 128 * 4 * 1000, ContextWindow.KvCacheBytes(c, 1000));
        var e = Assert.Throws<FrSpecException>(() => ContextWindow.Check(c, "model", 1000, 100_000_000));
        Assert.Contains("GiB of KV cache", e.Message);
    }

    [Fact]
    public void Truncation_keeps_bos_and_the_end_of_the_prompt()
    {
        var c = new ModelConfig
        {
            Architecture = "LlamaForCausalLM", ModelType = "llama", HiddenSize = 8, IntermediateSize = 8, NumLayers = 1, NumHeads = 1, NumKvHeads = 1, HeadDim = 8,
            VocabSize = 300, MaxPositions = 10,
        };
        int[] prompt = [296, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        Assert.Equal([296, 8, 9, 10, 11], ContextWindow.Truncate(prompt, 5, c, 296));
        Assert.Equal([7, 8, 9, 10, 11], ContextWindow.Truncate(prompt, 5, c, null));
        Assert.Same(prompt, ContextWindow.Truncate(prompt, 0, c with { MaxPositions = 12 }, 296));
        Assert.Throws<FrSpecException>(() => ContextWindow.Truncate(prompt, 10, c, 296));
    }

    [Fact]
    public void The_cli_refuses_or_truncates_a_long_prompt()
    {
        string dir = Model(64);
        string prompt = string.Join(" ", Enumerable.Repeat("hello world", 60));
        var (code, error) = ErrorPathTests.Run("generate", "--model", dir, "--max-tokens", "8", prompt);
        Assert.Equal(1, code);
        ErrorPathTests.AssertOneLineError(error, "max_position_embeddings", "--truncate");
        var output = new StringWriter();
        var stdout = Console.Out;
        Console.SetOut(output);
        try { (code, error) = ErrorPathTests.Run("generate", "--model", dir, "--max-tokens", "8", "--truncate", "--json", prompt); }
        finally { Console.SetOut(stdout); }
        Assert.True(code == 0, error);
        var json = System.Text.Json.JsonDocument.Parse(output.ToString().Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(64 - 8, json.GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public void A_long_prompt_prefills_chunk_by_chunk_with_progress()
    {
        using var m = LanguageModel.Load(Model(4096), Options);
        using var s = m.CreateSession();
        var prompt = Enumerable.Range(0, 3000).Select(i => 1 + i * 7 % 290).ToArray();
        var seen = new List<int>();
        var r = s.Generate(prompt, new GenerationOptions { MaxNewTokens = 3, StopIds = [], PrefillProgress = new Progress(seen) });
        Assert.Equal(3, r.Ids.Length);
        Assert.Equal(Enumerable.Range(1, (3000 + VanillaDecoder.PrefillChunk - 1) / VanillaDecoder.PrefillChunk).Select(k => Math.Min(3000, k * VanillaDecoder.PrefillChunk)), seen);
        // the same tokens as one unchunked pass of the whole prompt would give
        var target = m.Target;
        var cache = target.CreateCache(3003);
        var h = target.Forward(target.CreateState(), cache, prompt, Enumerable.Range(0, 3000).ToArray()).ToArray();
        var logits = new float[target.Config.VocabSize];
        target.Head.Compute(h.AsSpan(2999 * target.Config.HiddenSize), 1, logits);
        Assert.Equal(FrSpec.Numerics.Ops.ArgMax(logits), r.Ids[0]);
    }

    private sealed class Progress(List<int> seen) : IProgress<int>
    {
        public void Report(int value) => seen.Add(value);
    }
}
