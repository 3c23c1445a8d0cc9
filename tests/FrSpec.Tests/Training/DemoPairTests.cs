using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Speculative;
using FrSpec.Text;

namespace FrSpec.Tests.Training;

/// <summary>The trained demo pair shipped in demo/ loads, and EAGLE-2 decoding with it reproduces vanilla greedy output.</summary>
public class DemoPairTests
{
    private static string Demo(string part) => Path.Combine(Benchmarks.RepoFiles.Root, "demo", part);

    [Fact]
    public void Demo_target_and_eagle_head_decode_greedily_like_vanilla()
    {
        using var target = Transformer.Load(Demo("target"));
        Assert.Equal(151936, target.Config.VocabSize);
        var tokenizer = TokenizerLoader.Load(Demo("target"));
        var prompt = tokenizer.Encode("It was the best of times, it was the worst of times, it was the age of");
        var opts = new GenerationOptions { MaxNewTokens = 24 };
        var expected = new VanillaDecoder(target).Generate(prompt, opts).Ids;
        using var spec = SpeculativeDecoder.Create(target, Demo("eagle"));
        var r = spec.Generate(prompt, opts);
        Assert.Equal(expected, r.Ids);
        Assert.True(r.MeanAcceptLength > 1.0, $"mean accepted length {r.MeanAcceptLength}");
    }
}
