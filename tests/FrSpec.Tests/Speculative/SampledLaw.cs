using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Sessions;
using Xunit.Abstractions;

namespace FrSpec.Tests.Speculative;

/// <summary>
/// The chi-square machinery of the sampling tests: the exact law of the first three generated tokens of a small-vocabulary
/// model, enumerated from vanilla distributions, and seeded runs of a session compared with it.
/// </summary>
internal static class SampledLaw
{
    /// <summary>P(t1, t2, t3) under vanilla sampling after <paramref name="prompt"/>, by enumerating every prefix with non-zero probability.</summary>
    public static Dictionary<long, double> Exact(Transformer model, int[] prompt, SamplingOptions sampling)
    {
        int vocab = model.Config.VocabSize;
        var sampler = new Sampler(sampling);
        var state = model.CreateState();
        var cache = model.CreateCache(prompt.Length + 8);
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
        var p1 = Next(prompt);
        for (int a = 0; a < vocab; a++)
        {
            if (p1[a] <= 0) continue;
            var p2 = Next([.. prompt, a]);
            for (int b = 0; b < vocab; b++)
            {
                if (p2[b] <= 0) continue;
                var p3 = Next([.. prompt, a, b]);
                for (int c = 0; c < vocab; c++)
                    if (p3[c] > 0) law[Key(vocab, a, b, c)] = (double)p1[a] * p2[b] * p3[c];
            }
        }
        return law;
    }

    private static long Key(int vocab, int a, int b, int c) => ((long)a * vocab + b) * vocab + c;

    /// <summary>
    /// Runs the session <paramref name="runs"/> times (seeds firstSeed..firstSeed+runs−1, three tokens, no stop ids) and returns the
    /// chi-square p-value against <paramref name="law"/> and the share of rounds that accepted at least one draft.
    /// </summary>
    public static (double P, double MultiTokenRounds) Run(ModelSession session, int[] prompt, Dictionary<long, double> law, SamplingOptions sampling,
        int runs, ITestOutputHelper output, string rule = "exact", int firstSeed = 0)
    {
        int vocab = session.Model.Target.Config.VocabSize;
        var counts = new Dictionary<long, int>();
        int rounds = 0, multi = 0;
        for (int seed = firstSeed; seed < firstSeed + runs; seed++)
        {
            var r = session.Generate(prompt, new GenerationOptions { MaxNewTokens = 3, Sampling = sampling with { Seed = (ulong)seed }, StopIds = [] });
            Assert.Equal(3, r.Ids.Length);
            long k = Key(vocab, r.Ids[0], r.Ids[1], r.Ids[2]);
            counts[k] = counts.GetValueOrDefault(k) + 1;
            for (int i = 0; i < r.AcceptLengths.Length; i++) { rounds++; if (r.AcceptLengths[i] > 1) multi++; }
        }
        var (stat, df, p) = ChiSquare.Test(counts, law, runs);
        output.WriteLine($"{session.Name} rule={rule}: chi2={stat:F1} df={df} p={p:G4}; rounds accepting ≥1 draft: {multi}/{rounds}");
        return (p, multi / (double)Math.Max(1, rounds));
    }
}
