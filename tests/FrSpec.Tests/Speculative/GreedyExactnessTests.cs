using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Numerics;
using FrSpec.Model;
using FrSpec.Speculative;

namespace FrSpec.Tests.Speculative;

public class GreedyExactnessTests
{
    private static readonly int[][] Prompts = [[1, 2, 3], [17, 300, 5, 42, 99, 7, 250], [400]];

    private static int[] Vanilla(LanguageModel m, int[] prompt, int max) =>
        m.CreateSession().Generate(prompt, new GenerationOptions { MaxNewTokens = max }).Ids;

    [Theory]
    [InlineData("llama3", true, 11UL)]
    [InlineData("llama3", false, 12UL)]
    [InlineData("qwen2", false, 13UL)]
    [InlineData("qwen2", true, 14UL)]
    public void GreedyOutputEqualsVanilla_FullVocabulary(string family, bool tied, ulong seed)
    {
        using var model = LanguageModel.Load(TinyModels.Target(family, tied, seed));
        string head = TinyModels.Head(model.Directory, seed + 100);
        foreach (var tree in new[] { new TreeOptions { Depth = 3, TopK = 4, TotalTokens = 16 }, new TreeOptions { Depth = 1, TopK = 2, TotalTokens = 3 }, new TreeOptions { Depth = 0, TopK = 3, TotalTokens = 1 } })
        {
            using var spec = model.CreateSession(DecodingMethod.Eagle(head, null, tree));
            Assert.Equal("eagle2", spec.Name);
            foreach (var prompt in Prompts)
            {
                var expected = Vanilla(model, prompt, 40);
                var r = spec.Generate(prompt, new GenerationOptions { MaxNewTokens = 40 });
                Assert.Equal(expected, r.Ids);
                Assert.Equal(r.Ids.Length - 1, r.AcceptLengths.Sum());
                Assert.All(r.AcceptLengths, a => Assert.InRange(a, 1, tree.Depth + 2));
            }
        }
    }

    /// <summary>bf16 and f16 weights: batch-invariant kernels make a tree pass reproduce decoding bit for bit in either
    /// precision (f16: small trees widen the weights in the kernels, large ones convert tiles first, decode the former).</summary>
    [Theory]
    [InlineData("llama3", true, 41UL, Precision.Exact, DType.BF16)]
    [InlineData("llama3", true, 41UL, Precision.Fast, DType.BF16)]
    [InlineData("qwen2", false, 42UL, Precision.Fast, DType.BF16)]
    [InlineData("llama3", true, 43UL, Precision.Exact, DType.F16)]
    [InlineData("qwen2", false, 44UL, Precision.Fast, DType.F16)]
    public void GreedyOutputEqualsVanilla_16BitWeights(string family, bool tied, ulong seed, Precision precision, DType type)
    {
        using var model = LanguageModel.Load(TinyModels.Target(family, tied, seed, type: type), EngineOptions.Default with { Precision = precision });
        string head = TinyModels.Head(model.Directory, seed + 100);
        foreach (var (tree, ids) in new[] { (new TreeOptions { Depth = 3, TopK = 4, TotalTokens = 16 }, (int[]?)null), (new TreeOptions { Depth = 4, TopK = 8, TotalTokens = 40 }, Enumerable.Range(0, 200).ToArray()),
                     (new TreeOptions { Depth = 2, TopK = 2, TotalTokens = 6 }, null) })
        {
            var vocabulary = ids == null ? null : model.Vocabulary.CreateDraftVocabulary(ids);
            using var spec = model.CreateSession(DecodingMethod.Eagle(head, vocabulary, tree));
            foreach (var prompt in Prompts)
            {
                var expected = Vanilla(model, prompt, 40);
                var r = spec.Generate(prompt, new GenerationOptions { MaxNewTokens = 40 });
                Assert.Equal(expected, r.Ids);
            }
        }
    }

    [Theory]
    [InlineData("llama3", true, 21UL)]
    [InlineData("qwen2", false, 22UL)]
    public void GreedyOutputEqualsVanilla_FrSubsets(string family, bool tied, ulong seed)
    {
        using var model = LanguageModel.Load(TinyModels.Target(family, tied, seed));
        string head = TinyModels.Head(model.Directory, seed + 100);
        var tree = new TreeOptions { Depth = 3, TopK = 5, TotalTokens = 20 };
        var control = model.Vocabulary.ControlIds;
        foreach (var prompt in Prompts)
        {
            var expected = Vanilla(model, prompt, 32);
            // A frequency-like subset, one that excludes every token the target will emit, and a tiny one.
            int[] first = Enumerable.Range(0, 128).ToArray();
            int[] excluding = Enumerable.Range(0, 512).Where(i => !expected.Contains(i)).Reverse().ToArray();
            int[] tiny = [5, 9, 300];
            foreach (var ids in new[] { first, excluding, tiny })
            {
                var vocabulary = model.Vocabulary.CreateDraftVocabulary(ids);
                Assert.Equal(ids.Length, vocabulary.Count);
                Assert.All(control, id => Assert.Contains(id, vocabulary.Ids));
                using var spec = model.CreateSession(DecodingMethod.Eagle(head, vocabulary, tree));
                Assert.Equal($"fr-{ids.Length}", spec.Name);
                var r = spec.Generate(prompt, new GenerationOptions { MaxNewTokens = 32 });
                Assert.Equal(expected, r.Ids);
                // no draft can ever match (the forced-in control ids aside)
                if (ids == excluding && !expected.Any(control.Contains)) Assert.All(r.AcceptLengths, a => Assert.Equal(1, a));
            }
        }
    }

    [Fact]
    public void StopIdEndsGenerationLikeVanilla()
    {
        using var model = LanguageModel.Load(TinyModels.Target("llama3", true, 31));
        string head = TinyModels.Head(model.Directory, 131);
        var prompt = new[] { 3, 1, 4, 1, 5 };
        var free = model.CreateSession().Generate(prompt, new GenerationOptions { MaxNewTokens = 30, StopIds = [] }).Ids;
        int stop = free[7];
        var opts = new GenerationOptions { MaxNewTokens = 30, StopIds = [stop] };
        var expected = model.CreateSession().Generate(prompt, opts);
        using var spec = model.CreateSession(DecodingMethod.Eagle(head, null, new TreeOptions { Depth = 2, TopK = 3, TotalTokens = 8 }));
        var r = spec.Generate(prompt, opts);
        Assert.Equal(expected.Ids, r.Ids);
        Assert.True(r.StoppedByStopId);
        Assert.Equal(r.Ids.Length - 1, r.AcceptLengths.Sum());
    }
}
