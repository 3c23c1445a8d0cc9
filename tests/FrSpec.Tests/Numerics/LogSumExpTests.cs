using FrSpec.Numerics;

namespace FrSpec.Tests.Numerics;

/// <summary>The draft step's log-sum-exp against a double-precision reference, on lengths around the vector widths and
/// the unrolled block, with ties, −∞ entries, denormals and a spread wide enough that most terms underflow.</summary>
public class LogSumExpTests
{
    [Fact]
    public void MatchesTheDoubleReferenceOnAwkwardRows()
    {
        var r = new Random(5);
        foreach (int length in new[] { 1, 2, 7, 8, 9, 31, 32, 33, 63, 100, 1000, 32768, 32771 })
            for (int kind = 0; kind < 5; kind++)
            {
                var x = new float[length];
                for (int i = 0; i < length; i++)
                    x[i] = kind switch
                    {
                        0 => (float)(r.NextDouble() * 20 - 10),              // logits of a random head
                        1 => r.Next(4),                                       // ties, several at the maximum
                        2 => r.Next(3) == 0 ? float.NegativeInfinity : (float)(r.NextDouble() * 8 - 4),
                        3 => (float)(r.NextDouble() * 2e-38),                // denormals and tiny normals
                        _ => (float)(r.NextDouble() * 400 - 200),            // most of e^(x − max) underflows
                    };
                if (kind == 2) x[r.Next(length)] = 1.5f; // at least one finite entry
                float max = x.Max();
                double sum = x.Sum(v => Math.Exp((double)v - max));
                double expected = max + Math.Log(sum);
                float got = Ops.LogSumExp(x, max);
                Assert.True(Math.Abs(got - expected) <= 2e-6 * Math.Max(1, Math.Abs(expected)),
                    $"length {length}, kind {kind}: {got} vs {expected}");
            }
    }

    [Fact]
    public void ARowOfMinusInfinityGivesMinusInfinity()
    {
        var x = new float[19];
        Array.Fill(x, float.NegativeInfinity);
        Assert.Equal(float.NegativeInfinity, Ops.LogSumExp(x, float.NegativeInfinity));
    }

    [Fact]
    public void TheResultDoesNotDependOnTheRowsPlaceInALongerBuffer()
    {
        // the drafter scores each row of a multi-row logits buffer: a row's value must not depend on its alignment
        var r = new Random(9);
        var buffer = new float[3 * 1001];
        for (int i = 0; i < buffer.Length; i++) buffer[i] = (float)(r.NextDouble() * 12 - 6);
        var row = buffer.AsSpan(1001, 1001).ToArray();
        float max = row.Max();
        Assert.Equal(Ops.LogSumExp(row, max), Ops.LogSumExp(buffer.AsSpan(1001, 1001), max));
    }
}
