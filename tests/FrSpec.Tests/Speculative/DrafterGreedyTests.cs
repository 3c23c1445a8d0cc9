using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Synthesis;

namespace FrSpec.Tests.Speculative;

/// <summary>
/// Greedy output of every drafter equals vanilla greedy output, token for token, on synthesized pairs (Llama-3 and
/// Qwen2 targets, tied and untied heads), with and without FR-Spec subsets, including a subset that holds none of the
/// target's tokens; and each drafter does get drafts accepted, so the equality is not that of a drafter that never drafts.
/// </summary>
public class DrafterGreedyTests
{
    internal const int Vocab = 300, MaxTokens = 40;
    internal static readonly int[][] Prompts = [[1, 2, 3, 1, 2], [17, 200, 5, 42, 99, 7, 250, 17, 200], [90]];

    internal static string Target(string family, bool tied, ulong seed) => DrafterFixtures.Target(family, Vocab, layers: 8, hidden: 64, seed, tied);

    /// <summary>
    /// Generates every prompt with the method (each result also goes to <paramref name="check"/>); returns (drafted tokens
    /// accepted, rounds) over all prompts.
    /// </summary>
    internal static (int Accepted, int Rounds) AssertGreedyEqualsVanilla(LanguageModel model, DecodingMethod method, string expectedName,
        Action<GenerationResult>? check = null)
    {
        using var spec = model.CreateSession(method);
        Assert.Equal(expectedName, spec.Name);
        int accepted = 0, rounds = 0;
        foreach (var prompt in Prompts)
        {
            var expected = model.CreateSession().Generate(prompt, new GenerationOptions { MaxNewTokens = MaxTokens }).Ids;
            var r = spec.Generate(prompt, new GenerationOptions { MaxNewTokens = MaxTokens });
            Assert.Equal(expected, r.Ids);
            Assert.Equal(r.Ids.Length - 1, r.AcceptLengths.Sum());
            check?.Invoke(r);
            accepted += r.AcceptLengths.Sum(a => a - 1);
            rounds += r.AcceptLengths.Length;
        }
        return (accepted, rounds);
    }

    /// <summary>FR-Spec subsets: the first ids, ids the target never emits on these prompts, and a tiny one.</summary>
    private static IEnumerable<DraftVocabulary> Subsets(LanguageModel model)
    {
        var emitted = Prompts.SelectMany(p => model.CreateSession().Generate(p, new GenerationOptions { MaxNewTokens = MaxTokens }).Ids).ToHashSet();
        yield return model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, 96));
        yield return model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, Vocab).Where(i => !emitted.Contains(i)).Reverse());
        yield return model.Vocabulary.CreateDraftVocabulary([5, 9, 200]);
    }

    [Theory]
    [InlineData("llama3", true, 301UL)]
    [InlineData("qwen2", false, 302UL)]
    public void PromptLookup(string family, bool tied, ulong seed)
    {
        using var model = LanguageModel.Load(Target(family, tied, seed));
        var (accepted, _) = AssertGreedyEqualsVanilla(model, DecodingMethod.PromptLookup(), "lookup");
        // random tiny models fall into greedy loops, which the lookup drafts
        Assert.True(accepted > 10, $"prompt lookup got only {accepted} drafted tokens accepted");
        AssertGreedyEqualsVanilla(model, DecodingMethod.PromptLookup(new PromptLookupOptions { MaxNgram = 4, MinNgram = 2, DraftTokens = 3 }), "lookup");
    }

    [Theory]
    [InlineData("llama3", true, 311UL)]
    [InlineData("qwen2", false, 312UL)]
    public void DraftModelIdenticalToTheTargetIsAcceptedInFull(string family, bool tied, ulong seed)
    {
        string target = Target(family, tied, seed);
        using var model = LanguageModel.Load(target);
        string draft = DrafterFixtures.Copy(target);
        // No probability cut-off: the chain is the target's own greedy continuation, so every round accepts all of it.
        var method = DecodingMethod.DraftModel(draft, null, DraftModelMethod.Chain(4), DraftLimits.None);
        using var spec = model.CreateSession(method);
        var r = spec.Generate(Prompts[1], new GenerationOptions { MaxNewTokens = 1 + 5 * 6, StopIds = [] });
        Assert.Equal(model.CreateSession().Generate(Prompts[1], new GenerationOptions { MaxNewTokens = 1 + 5 * 6, StopIds = [] }).Ids, r.Ids);
        Assert.Equal(Enumerable.Repeat(5, 6), r.AcceptLengths);
    }

    [Theory]
    [InlineData("llama3", true, 321UL)]
    [InlineData("qwen2", false, 322UL)]
    public void DraftModelChainAndTree(string family, bool tied, ulong seed)
    {
        using var model = LanguageModel.Load(Target(family, tied, seed));
        // a different, smaller model with the same tokenizer
        string draft = DrafterFixtures.Target(family, Vocab, layers: 2, hidden: 32, seed + 1000, tied);
        // (a random draft rarely agrees with a random target; DraftModelIdenticalToTheTargetIsAcceptedInFull covers acceptance)
        AssertGreedyEqualsVanilla(model, DecodingMethod.DraftModel(draft, null, DraftModelMethod.Chain(6), DraftLimits.None), "draft");
        AssertGreedyEqualsVanilla(model, DecodingMethod.DraftModel(draft), "draft");
        var tree = new TreeOptions { Depth = 3, TopK = 4, TotalTokens = 16 };
        AssertGreedyEqualsVanilla(model, DecodingMethod.DraftModel(draft, null, tree, DraftLimits.None), "draft");
        foreach (var v in Subsets(model))
        {
            AssertGreedyEqualsVanilla(model, DecodingMethod.DraftModel(draft, v, tree, DraftLimits.None), $"draft-fr-{v.Count}");
            AssertGreedyEqualsVanilla(model, DecodingMethod.DraftModel(draft, v, DraftModelMethod.Chain(5), new DraftLimits { MinProbability = 0.3f, MinDraftTokens = 2 }), $"draft-fr-{v.Count}");
        }
    }

    [Theory]
    [InlineData("llama3", true, 331UL, "safetensors", 1)]
    [InlineData("qwen2", false, 332UL, "pt", 2)]
    public void Medusa(string family, bool tied, ulong seed, string format, int layers)
    {
        string target = Target(family, tied, seed);
        using var model = LanguageModel.Load(target);
        string heads = DrafterFixtures.Medusa(target, heads: 4, layers, format, seed);
        var (accepted, _) = AssertGreedyEqualsVanilla(model, DecodingMethod.Medusa(heads), "medusa");
        Assert.True(accepted > 0, "no Medusa draft was ever accepted");
        var small = MedusaTree.FromPaths([[0], [1], [0, 0], [0, 1], [1, 0], [0, 0, 0]], "small");
        AssertGreedyEqualsVanilla(model, DecodingMethod.Medusa(heads, null, small), "medusa");
        // greedy is exact whatever the acceptance option says
        AssertGreedyEqualsVanilla(model, DecodingMethod.Medusa(heads, null, null, typicalAcceptance: true), "medusa-typical");
        foreach (var v in Subsets(model))
            AssertGreedyEqualsVanilla(model, DecodingMethod.Medusa(heads, v, small), $"medusa-fr-{v.Count}");
    }

    [Theory]
    [InlineData("llama3", true, 341UL, Eagle3Layout.Official)]
    [InlineData("qwen2", false, 342UL, Eagle3Layout.Speculators)]
    [InlineData("llama3", false, 343UL, Eagle3Layout.Speculators)]
    public void Eagle3(string family, bool tied, ulong seed, Eagle3Layout layout)
    {
        string target = Target(family, tied, seed);
        using var model = LanguageModel.Load(target);
        string head = DrafterFixtures.Eagle3(target, layout, seed);
        foreach (var tree in new[] { TreeOptions.Default, new TreeOptions { Depth = 1, TopK = 2, TotalTokens = 3 }, new TreeOptions { Depth = 5, TopK = 1, TotalTokens = 7 } })
            AssertGreedyEqualsVanilla(model, DecodingMethod.Eagle3(head, null, tree), "eagle3");
        foreach (var v in Subsets(model).Take(2))
            AssertGreedyEqualsVanilla(model, DecodingMethod.Eagle3(head, v), $"eagle3-fr-{v.Count}");
    }
}
