using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Synthesis;
using Xunit.Abstractions;

namespace FrSpec.Tests.Speculative;

/// <summary>
/// Sampled output of every drafter has exactly the target's distribution: on 24-token models the exact law of the
/// first three tokens is enumerated and seeded runs are compared with it by the chi-square test of
/// <see cref="SamplingExactnessTests"/>. The same test rejects a deliberately wrong acceptance rule with each drafter,
/// and rejects Medusa's typical acceptance, which is labelled not exact.
/// </summary>
public class DrafterSamplingTests(ITestOutputHelper output)
{
    private const int Vocab = 24, Runs = 12_000, WrongRuns = 5_000;
    private static readonly SamplingOptions TopP = SamplingExactnessTests.Sampling;
    // A random EAGLE-3 head proposes tokens a random target rarely keeps in its top-p nucleus; the eight best tokens at
    // temperature 1 get its drafts accepted in about a sixth of the rounds.
    private static readonly SamplingOptions TopK = new(Temperature: 1f, TopK: 8, TopP: 1f);

    private static SamplingOptions Sampling(string drafter) => drafter == "eagle3" ? TopK : TopP;
    private static readonly int[] Start = [3, 11, 7, 5, 9];

    /// <summary>
    /// The start plus the target's own greedy continuation: random tiny models loop, so the sampled continuation often
    /// repeats an n-gram of the prompt and prompt lookup's drafts get accepted (other drafters do not need it).
    /// </summary>
    private static int[] Prompt(LanguageModel model) =>
        [.. Start, .. model.CreateSession().Generate(Start, new GenerationOptions { MaxNewTokens = 10, StopIds = [] }).Ids];

    private static string Target(int layers) => DrafterFixtures.Target("llama3", Vocab, layers, hidden: 32, seed: 71UL + (ulong)layers);

    private static DecodingMethod Method(string drafter, LanguageModel model) => drafter switch
    {
        "lookup" => DecodingMethod.PromptLookup(new PromptLookupOptions { DraftTokens = 3 }),
        // the target itself as draft model: its drafts are the target's top tokens, so acceptance is exercised often
        "draft" => DecodingMethod.DraftModel(DrafterFixtures.Copy(model.Directory), null, DraftModelMethod.Chain(3), DraftLimits.None),
        "draft-fr" => DecodingMethod.DraftModel(DrafterFixtures.Copy(model.Directory), model.Vocabulary.CreateDraftVocabulary([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]),
            new TreeOptions { Depth = 2, TopK = 3, TotalTokens = 10 }, DraftLimits.None),
        "medusa" => DecodingMethod.Medusa(DrafterFixtures.Medusa(model.Directory, heads: 4, layers: 1, "safetensors", 5),
            model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, 16))),
        // three fused layers, named in the config (the default 2, L/2, L−3 needs seven layers: slower, same code path)
        "eagle3" => DecodingMethod.Eagle3(DrafterFixtures.Eagle3(model.Directory, Eagle3Layout.Official, 7, draftVocab: 16, targetLayers: [0, 1, 2]), null,
            new TreeOptions { Depth = 2, TopK = 3, TotalTokens = 10 }),
        _ => throw new ArgumentException(drafter),
    };

    [Theory]
    [InlineData("lookup", 1)]
    [InlineData("draft", 1)]
    [InlineData("draft-fr", 1)]
    [InlineData("medusa", 1)]
    [InlineData("eagle3", 3)]
    public void SampledOutputHasTheTargetsDistribution(string drafter, int layers)
    {
        using var model = LanguageModel.Load(Target(layers));
        var prompt = Prompt(model);
        var law = SampledLaw.Exact(model.Target, prompt, Sampling(drafter));
        using var spec = model.CreateSession(Method(drafter, model));
        var (p, multi) = SampledLaw.Run(spec, prompt, law, Sampling(drafter), Runs, output);
        // random heads on a random target: a few percent of rounds (hundreds of acceptances) exercise the accepting branch
        Assert.True(multi > 0.02, $"drafts were accepted in only {multi:P1} of rounds: the test would not exercise acceptance");
        Assert.True(p > 0.001, $"chi-square p = {p}");
    }

    [Theory]
    [InlineData("lookup", 1)]
    [InlineData("draft", 1)]
    [InlineData("medusa", 1)]
    [InlineData("eagle3", 3)]
    public void WrongAcceptanceRuleIsDetected(string drafter, int layers)
    {
        using var model = LanguageModel.Load(Target(layers));
        var prompt = Prompt(model);
        var law = SampledLaw.Exact(model.Target, prompt, Sampling(drafter));
        using var spec = model.CreateSession(Method(drafter, model), new SamplingExactnessTests.ForgetResidual());
        var (p, _) = SampledLaw.Run(spec, prompt, law, Sampling(drafter), WrongRuns, output, nameof(SamplingExactnessTests.ForgetResidual));
        Assert.True(p < 1e-6, $"chi-square p = {p}: the wrong rule was not detected with {drafter}");
    }

    [Fact]
    public void MedusaTypicalAcceptanceIsNotExact()
    {
        using var model = LanguageModel.Load(Target(1));
        var prompt = Prompt(model);
        var law = SampledLaw.Exact(model.Target, prompt, TopP);
        string heads = DrafterFixtures.Medusa(model.Directory, heads: 4, layers: 1, "safetensors", 5);
        using var spec = model.CreateSession(DecodingMethod.Medusa(heads, null, null, typicalAcceptance: true));
        Assert.Equal("medusa-typical", spec.Name);
        var (p, _) = SampledLaw.Run(spec, prompt, law, TopP, WrongRuns, output, "typical");
        Assert.True(p < 1e-6, $"chi-square p = {p}: typical acceptance matched the target's law, so the test cannot tell it from exact sampling");
    }
}
