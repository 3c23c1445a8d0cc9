using FrSpec.Numerics;
using FrSpec.Speculative;

namespace FrSpec.Tests.Speculative;

/// <summary>The draft step's per-row scoring, split over a worker pool, against a plain per-row reference (sort by
/// logit descending then index; log-sum-exp in double), on awkward vocabulary sizes with ties and −∞.</summary>
public class DraftRowScoresTests
{
    [Fact]
    public void EveryRowMatchesThePlainReference()
    {
        var pool = new WorkerPool(3);
        var r = new Random(17);
        foreach (int vocab in new[] { 5, 16, 17, 33, 1001, 32771 })
            foreach (int rows in new[] { 1, 3, 8 })
            {
                var logits = new float[rows * vocab];
                for (int i = 0; i < logits.Length; i++)
                    logits[i] = (i % 3) switch
                    {
                        0 => r.Next(6),                                                   // ties
                        1 => r.Next(5) == 0 ? float.NegativeInfinity : (float)(r.NextDouble() * 16 - 8),
                        _ => (float)(r.NextDouble() * 1e-39),                             // denormals
                    };
                var scores = new DraftRowScores(8, 16);
                scores.Score(pool, logits, vocab, rows);
                for (int row = 0; row < rows; row++)
                {
                    var x = logits.AsSpan(row * vocab, vocab).ToArray();
                    var expected = Enumerable.Range(0, vocab).OrderByDescending(i => x[i]).ThenBy(i => i).Take(16).ToArray();
                    Assert.Equal(expected.Length, scores.Count(row));
                    for (int c = 0; c < expected.Length; c++)
                    {
                        Assert.Equal(expected[c], scores.Index(row, c));
                        Assert.Equal(x[expected[c]], scores.Logit(row, c));
                    }
                    double max = x.Max();
                    double lse = max + Math.Log(x.Sum(v => Math.Exp(v - max)));
                    Assert.True(Math.Abs(scores.LogSumExp(row) - lse) <= 2e-6 * Math.Max(1, Math.Abs(lse)), $"vocab {vocab}, row {row}: {scores.LogSumExp(row)} vs {lse}");
                }
            }
    }
}
