using FrSpec.Generation;
using FrSpec.Sessions;

namespace FrSpec.Tests.Training;

/// <summary>The trained demo pair shipped in demo/ loads, and EAGLE-2 decoding with it reproduces vanilla greedy output.</summary>
public class DemoPairTests
{
    private static string Demo(string part) => Path.Combine(Benchmarks.RepoFiles.Root, "demo", part);

    [Fact]
    public void Demo_target_and_eagle_head_decode_greedily_like_vanilla()
    {
        using var model = LanguageModel.Load(Demo("target"));
        Assert.Equal(151936, model.Target.Config.VocabSize);
        var prompt = model.Vocabulary.Tokenizer!.Encode("It was the best of times, it was the worst of times, it was the age of");
        var opts = new GenerationOptions { MaxNewTokens = 24 };
        var expected = model.CreateSession().Generate(prompt, opts).Ids;
        using var spec = model.CreateSession(DecodingMethod.Eagle(Demo("eagle"), null, FrSpec.Speculative.TreeOptions.Default));
        var r = spec.Generate(prompt, opts);
        Assert.Equal(expected, r.Ids);
        Assert.True(r.MeanAcceptLength > 1.0, $"mean accepted length {r.MeanAcceptLength}");
    }
}
