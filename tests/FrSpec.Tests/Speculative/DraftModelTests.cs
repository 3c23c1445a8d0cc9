using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;

namespace FrSpec.Tests.Speculative;

/// <summary>
/// Draft models: the tokenizer check (llama.cpp's rules, one clear error per difference), a GGUF draft, a draft
/// vocabulary larger than the target's, and llama.cpp's limits (--draft-p-min stops the chain at the first unsure
/// token, --draft-min drops short drafts).
/// </summary>
public class DraftModelTests
{
    private const int Vocab = 300;
    private static string Target() => DrafterFixtures.Target("llama3", Vocab, layers: 2, hidden: 64, seed: 601);
    private static readonly int[] Prompt = [17, 200, 5, 42, 99, 7, 250, 17, 200];

    private static string Error(LanguageModel model, string draft) =>
        Assert.Throws<FrSpecException>(() => model.CreateSession(DecodingMethod.DraftModel(draft))).Message;

    [Fact]
    public void TokenizerMismatchesAreRefusedWithTheFirstDifference()
    {
        using var model = LanguageModel.Load(Target());
        string Draft(string name, int vocab, Action<string> tokenizer) => DrafterFixtures.Draft(name, "llama3", vocab, 7, tokenizer);

        Assert.Contains("token 10 differs (target 't10', draft 'other')",
            Error(model, Draft("renamed", Vocab, d => DrafterFixtures.WriteTokenizer(d, Vocab, rename: (10, "other")))));
        Assert.Contains("vocabulary types differ",
            Error(model, Draft("spm", Vocab, d => DrafterFixtures.WriteTokenizer(d, Vocab, byteLevel: false))));
        Assert.Contains("BOS/prefix",
            Error(model, Draft("nobos", Vocab, d => DrafterFixtures.WriteTokenizer(d, Vocab, addBos: false))));
        Assert.Contains("BOS tokens differ",
            Error(model, Draft("bigger", Vocab + 2, d => DrafterFixtures.WriteTokenizer(d, Vocab + 2))));
        Assert.Contains("sizes differ by more than 128 (target 300, draft 500)",
            Error(model, Draft("much-bigger", Vocab + 200, d => DrafterFixtures.WriteTokenizer(d, Vocab, extra: 200))));
        Assert.Contains("draft model has no tokenizer", Error(model, Draft("none", Vocab, _ => { })));
        // ids below 5 are not compared (conversions renumber control tokens there)
        using var ok = model.CreateSession(DecodingMethod.DraftModel(Draft("renamed-low", Vocab, d => DrafterFixtures.WriteTokenizer(d, Vocab, rename: (3, "other")))));
        Assert.Equal("draft", ok.Name);
    }

    [Fact]
    public void ALargerDraftVocabularyNeverDraftsTokensTheTargetLacks()
    {
        using var model = LanguageModel.Load(Target());
        string draft = DrafterFixtures.Draft("larger", "llama3", Vocab + 100, 9, d => DrafterFixtures.WriteTokenizer(d, Vocab, extra: 100));
        var head = model.DraftModelHead(draft, null);
        Assert.Equal(Vocab, head.Size);
        Assert.All(Enumerable.Range(0, head.Size), i => Assert.Equal(i, head.TokenId(i)));
        var subset = model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, 64));
        Assert.Equal(subset.Ids, Enumerable.Range(0, model.DraftModelHead(draft, subset).Size).Select(model.DraftModelHead(draft, subset).TokenId));
        using var spec = model.CreateSession(DecodingMethod.DraftModel(draft, null, new TreeOptions { Depth = 2, TopK = 3, TotalTokens = 8 }, DraftLimits.None));
        var expected = model.CreateSession().Generate(Prompt, new GenerationOptions { MaxNewTokens = 30 }).Ids;
        Assert.Equal(expected, spec.Generate(Prompt, new GenerationOptions { MaxNewTokens = 30 }).Ids);
    }

    [Fact]
    public void AGgufDraftModelOfTheSameWeightsIsAcceptedInFull()
    {
        string target = Target();
        string gguf = Path.Combine(TinyModels.NewDir("gguf-draft"), "draft.gguf");
        FrSpec.Formats.Gguf.GgufModelExporter.Export(target, gguf);
        using var model = LanguageModel.Load(target);
        using var spec = model.CreateSession(DecodingMethod.DraftModel(gguf, null, DraftModelMethod.Chain(3), DraftLimits.None));
        var options = new GenerationOptions { MaxNewTokens = 1 + 4 * 5, StopIds = [] };
        var r = spec.Generate(Prompt, options);
        Assert.Equal(model.CreateSession().Generate(Prompt, options).Ids, r.Ids);
        Assert.Equal(Enumerable.Repeat(4, 5), r.AcceptLengths);
    }

    [Fact]
    public void MinimumProbabilityStopsTheChainAtTheFirstUnsureToken()
    {
        string target = Target();
        using var model = LanguageModel.Load(target);
        string draft = DrafterFixtures.Copy(target);
        const float pMin = 0.1f;
        const int max = 8;
        var network = new DraftModelNetwork(model.DraftModel(draft).Target, model.DraftModelHead(draft, null));
        var drafter = new EagleDrafter(network, DraftModelMethod.Chain(max), 64, new DraftLimits { MinProbability = pMin });
        var vanilla = new VanillaDecoder(model.Target);
        int checkedChains = 0, stopped = 0;
        for (int root = 0; root < 40; root++)
        {
            int[] prompt = [.. Prompt, root];
            drafter.Begin(prompt[..^1], 64);
            drafter.Extend([], prompt[1..]);
            var tree = new DraftTree(max + 1);
            drafter.Draft(root, tree);
            // the draft is the target itself: each drafted token is the target's argmax with probability ≥ p_min, and the
            // chain ends early only where the next argmax falls below it
            var sequence = prompt.ToList();
            for (int i = 1; i <= tree.Count; i++)
            {
                var p = Distribution(model.Target, sequence.ToArray());
                int best = Array.IndexOf(p, p.Max());
                if (i == tree.Count)
                {
                    if (tree.Count - 1 < max) { Assert.True(p[best] < pMin, $"chain stopped at {i - 1} with a next probability {p[best]}"); stopped++; }
                    break;
                }
                Assert.Equal(i - 1, tree.Parents[i]);
                Assert.Equal(best, tree.Tokens[i]);
                Assert.True(p[best] >= pMin);
                sequence.Add(best);
            }
            checkedChains++;
        }
        Assert.True(stopped > 5 && stopped < checkedChains, $"{stopped} of {checkedChains} chains stopped early: the cut-off was not exercised both ways");

        // --draft-min: a shorter draft verifies the root alone
        var strict = new EagleDrafter(network, DraftModelMethod.Chain(max), 64, new DraftLimits { MinProbability = pMin, MinDraftTokens = max + 1 });
        strict.Begin(Prompt, 64);
        strict.Extend([], [.. Prompt[1..], 3]);
        var t = new DraftTree(max + 1);
        strict.Draft(3, t);
        Assert.Equal(1, t.Count);
    }

    private static float[] Distribution(Transformer model, int[] sequence)
    {
        var cache = model.CreateCache(sequence.Length + 1);
        var h = VanillaDecoder.Prefill(model, model.CreateState(), cache, sequence);
        var logits = new float[model.Config.VocabSize];
        model.Head.Compute(h, 1, logits);
        FrSpec.Numerics.Ops.Softmax(logits);
        return logits;
    }
}
