using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;
using Xunit.Abstractions;

namespace FrSpec.Tests.Speculative;

/// <summary>
/// Sampled speculative decoding must reproduce the target's processed distribution exactly. On a 24-token model the
/// exact law of the first three generated tokens is computed by enumeration; 50,000 seeded runs are compared with it by
/// a chi-square test. The same test must reject deliberately wrong acceptance rules. On quantized GGUF targets (Q8_0,
/// Q4_K_M from `frspec quantize`) the law is enumerated under top-k sampling, over a 512-token vocabulary.
/// </summary>
public class SamplingExactnessTests(ITestOutputHelper output)
{
    private const int Vocab = 24, Runs = 50_000;
    private static readonly int[] Prompt = [3, 11, 7];
    private static readonly SamplingOptions Sampling = new(Temperature: 1f, TopK: 0, TopP: 0.95f);
    private static readonly SamplingOptions TopKSampling = new(Temperature: 0.7f, TopK: 6, TopP: 1f);
    private static readonly TreeOptions Tree = new() { Depth = 2, TopK = 3, TotalTokens = 10 };

    // The identity head drafts the target's own top tokens (up to the missing first token), so most rounds accept
    // drafts and every branch of the acceptance rule is exercised.
    private static (string Target, string Head) Dirs() => IdentityEagle.Write("llama3", Vocab, 32, 51);
    private static string TargetDir() => Dirs().Target;

    /// <summary>P(t1, t2, t3) under vanilla sampling, by enumerating every prefix with non-zero probability.</summary>
    private static Dictionary<long, double> ExactLaw(Transformer model, SamplingOptions sampling)
    {
        int vocab = model.Config.VocabSize;
        var sampler = new Sampler(sampling);
        var state = model.CreateState();
        var cache = model.CreateCache(64);
        var logits = new float[vocab];
        float[] Next(int[] seq)
        {
            cache.Clear();
            var h = VanillaDecoder.Prefill(model, state, cache, seq);
            model.Head.Compute(h, 1, logits);
            var p = new float[vocab];
            sampler.Distribution(logits, p);
            return p;
        }
        var law = new Dictionary<long, double>();
        var p1 = Next(Prompt);
        for (int a = 0; a < vocab; a++)
        {
            if (p1[a] <= 0) continue;
            var p2 = Next([.. Prompt, a]);
            for (int b = 0; b < vocab; b++)
            {
                if (p2[b] <= 0) continue;
                var p3 = Next([.. Prompt, a, b]);
                for (int c = 0; c < vocab; c++)
                    if (p3[c] > 0) law[Key(a, b, c, vocab)] = (double)p1[a] * p2[b] * p3[c];
            }
        }
        return law;
    }

    private static long Key(int a, int b, int c, int vocab) => ((long)a * vocab + b) * vocab + c;

    private (double P, double MultiTokenRounds) Run(ModelSession spec, Dictionary<long, double> law, SamplingOptions sampling, string rule = "exact",
        int runs = Runs, int vocab = Vocab)
    {
        var counts = new Dictionary<long, int>();
        int rounds = 0, multi = 0;
        for (int seed = 0; seed < runs; seed++)
        {
            var r = spec.Generate(Prompt, new GenerationOptions { MaxNewTokens = 3, Sampling = sampling with { Seed = (ulong)seed }, StopIds = [] });
            Assert.Equal(3, r.Ids.Length);
            long k = Key(r.Ids[0], r.Ids[1], r.Ids[2], vocab);
            counts[k] = counts.GetValueOrDefault(k) + 1;
            for (int i = 0; i < r.AcceptLengths.Length; i++) { rounds++; if (r.AcceptLengths[i] > 1) multi++; }
        }
        var (stat, df, p) = ChiSquare.Test(counts, law, runs);
        output.WriteLine($"{spec.Name} rule={rule}: chi2={stat:F1} df={df} p={p:G4}; rounds accepting ≥1 draft: {multi}/{rounds}");
        return (p, multi / (double)rounds);
    }

    [Fact]
    public void FullVocabularyEagleMatchesTargetDistribution()
    {
        using var model = LanguageModel.Load(TargetDir());
        var law = ExactLaw(model.Target, Sampling);
        using var spec = model.CreateSession(DecodingMethod.Eagle(Dirs().Head, null, Tree));
        var (p, multi) = Run(spec, law, Sampling);
        Assert.True(multi > 0.3, $"drafts were accepted in only {multi:P1} of rounds: the test would not exercise acceptance");
        Assert.True(p > 0.001, $"chi-square p = {p}");
    }

    [Fact]
    public void FrSpecSubsetMatchesTargetDistribution()
    {
        using var model = LanguageModel.Load(TargetDir());
        var law = ExactLaw(model.Target, TopKSampling);
        var vocabulary = model.Vocabulary.CreateDraftVocabulary([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
        using var spec = model.CreateSession(DecodingMethod.Eagle(Dirs().Head, vocabulary, Tree));
        var (p, _) = Run(spec, law, TopKSampling);
        Assert.True(p > 0.001, $"chi-square p = {p}");
    }

    /// <summary>WRONG: rejected children keep their mass, so the bonus is drawn from the unchanged p (drafted tokens are over-sampled).</summary>
    private sealed class ForgetResidual : ISampledAcceptance
    {
        public int AcceptChild(DraftTree tree, int node, Span<float> p, Rng rng)
        {
            for (int c = tree.FirstChild[node]; c >= 0; c = tree.NextSibling[c])
                if (p[tree.Tokens[c]] > 0f && rng.NextDouble() < p[tree.Tokens[c]]) return c;
            return -1;
        }
    }

    /// <summary>WRONG: the first child is always accepted.</summary>
    private sealed class AcceptFirstChild : ISampledAcceptance
    {
        public int AcceptChild(DraftTree tree, int node, Span<float> p, Rng rng) => tree.FirstChild[node];
    }

    /// <summary>
    /// EAGLE-2 and FR-Spec next to a quantized target: the identity head (f32) drafts what the unquantized target would,
    /// so drafts are mostly but not always the quantized target's choices, and the output must still follow the
    /// quantized target's own law (enumerated with the same kernels) exactly.
    /// </summary>
    [Theory]
    [InlineData(FrSpec.Formats.Gguf.QuantizedFileType.Q8_0, false)]
    [InlineData(FrSpec.Formats.Gguf.QuantizedFileType.Q8_0, true)]
    [InlineData(FrSpec.Formats.Gguf.QuantizedFileType.Q4_K_M, false)]
    [InlineData(FrSpec.Formats.Gguf.QuantizedFileType.Q4_K_M, true)]
    public void SpeculationOnQuantizedTargetMatchesItsDistribution(FrSpec.Formats.Gguf.QuantizedFileType type, bool frSpec)
    {
        const int vocab = 512, runs = 20_000;
        var (target, head) = IdentityEagle.Write("llama3", vocab, 256, 53);
        string gguf = Path.Combine(TinyModels.NewDir($"sampling-{type}"), "target.gguf");
        string tokenizer = FrSpec.Tests.Formats.GgufWriterTests.WriteTokenizer(Path.Combine(Path.GetDirectoryName(gguf)!, "tok"));
        FrSpec.Formats.Gguf.GgufModelExporter.Write(target, gguf, tokenizer, type, overwrite: false, null);
        using var model = LanguageModel.Load(gguf);
        Assert.True(FrSpec.Numerics.DTypeInfo.IsQuantized(model.Target.Layers[0].GateProj.Type));
        var law = ExactLaw(model.Target, TopKSampling);
        // FR-Spec: every other id of the first 64 (the target's likely tokens are not all in it)
        var subset = frSpec ? model.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, 32).Select(i => 2 * i).ToArray()) : null;
        using var spec = model.CreateSession(DecodingMethod.Eagle(head, subset, Tree));
        var (p, multi) = Run(spec, law, TopKSampling, runs: runs, vocab: vocab);
        if (!frSpec) Assert.True(multi > 0.2, $"drafts were accepted in only {multi:P1} of rounds: the test would not exercise acceptance");
        Assert.True(p > 0.001, $"chi-square p = {p}");
    }

    [Theory]
    [InlineData(nameof(ForgetResidual))]
    [InlineData(nameof(AcceptFirstChild))]
    public void WrongAcceptanceRuleIsDetected(string ruleName)
    {
        ISampledAcceptance rule = ruleName == nameof(ForgetResidual) ? new ForgetResidual() : new AcceptFirstChild();
        using var model = LanguageModel.Load(TargetDir());
        var law = ExactLaw(model.Target, Sampling);
        using var spec = model.CreateSession(DecodingMethod.Eagle(Dirs().Head, null, Tree), rule);
        var (p, _) = Run(spec, law, Sampling, ruleName);
        Assert.True(p < 1e-6, $"chi-square p = {p}: the wrong rule {ruleName} was not detected");
    }

    [Fact]
    public void ChiSquareTailMatchesTables()
    {
        Assert.Equal(0.05, ChiSquare.UpperGamma(0.5, 3.841459 / 2), 5);
        Assert.Equal(0.05, ChiSquare.UpperGamma(5, 18.307038 / 2), 5);
        Assert.Equal(0.001, ChiSquare.UpperGamma(50, 149.449 / 2), 5);
    }
}
