using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Speculative;

namespace FrSpec.Tests.Speculative;

/// <summary>A decoder reused for a much longer prompt than its first one grows its caches and stays exact.</summary>
public class CacheGrowthTests
{
    [Fact]
    public void LongerSecondPromptGrowsTheCachesAndMatchesVanilla()
    {
        using var model = LanguageModel.Load(TinyModels.Target("llama3", true, 21));
        using var spec = model.CreateSession(DecodingMethod.Eagle(TinyModels.Head(model.Directory, 121), null, new TreeOptions { Depth = 2, TopK = 3, TotalTokens = 8 }));
        var options = new GenerationOptions { MaxNewTokens = 12 };
        var shortPrompt = new[] { 1, 2, 3 };
        var longPrompt = Enumerable.Range(0, 700).Select(i => (i * 37 + 11) % model.Target.Config.VocabSize).ToArray();
        foreach (var prompt in new[] { shortPrompt, longPrompt, shortPrompt })
            Assert.Equal(model.CreateSession().Generate(prompt, options).Ids, spec.Generate(prompt, options).Ids);
    }
}
