using FrSpec.Numerics;

namespace FrSpec.Tests.Numerics;

/// <summary>The sampler's softmax numerators (Ops.ScaledExp) against a double-precision reference, on lengths around the
/// vector width with ties, −∞ entries and spreads wide enough that most terms underflow.</summary>
public class ScaledExpTests
{
    [Fact]
    public void MatchesTheDoubleReferenceOnAwkwardRows()
    {
        var r = new Random(3);
        foreach (int length in new[] { 1, 2, 7, 8, 9, 15, 17, 100, 1001, 32771 })
            foreach (float scale in new[] { 1f, 1f / 0.7f, 10f, 0.05f })
                for (int kind = 0; kind < 4; kind++)
                {
                    var x = new float[length];
                    for (int i = 0; i < length; i++)
                        x[i] = kind switch
                        {
                            0 => (float)(r.NextDouble() * 20 - 10),
                            1 => r.Next(4),                                                      // ties at the maximum
                            2 => r.Next(3) == 0 ? float.NegativeInfinity : (float)(r.NextDouble() * 8 - 4),
                            _ => (float)(r.NextDouble() * 400 - 200),                            // most terms underflow
                        };
                    if (kind == 2) x[r.Next(length)] = 1.5f;
                    var got = new float[length + 3];
                    Array.Fill(got, 42f);
                    Ops.ScaledExp(x, scale, got);
                    float max = x.Max(v => v * scale);
                    for (int i = 0; i < length; i++)
                    {
                        double expected = Math.Exp(x[i] * scale - max); // the float subtraction is part of the contract
                        Assert.True(Math.Abs(got[i] - expected) <= 1e-6 * expected + 1e-37,
                            $"length {length}, scale {scale}, kind {kind}, element {i}: {got[i]} vs {expected}");
                    }
                    Assert.Equal(1f, got.Take(length).Max());
                    Assert.All(got.Skip(length), v => Assert.Equal(42f, v)); // nothing written past the row
                }
    }

    [Fact]
    public void AnElementsValueDoesNotDependOnItsPlaceInTheRow()
    {
        // the same logits at another offset (vector body vs scalar-padded tail) give the same bits
        var r = new Random(4);
        var x = new float[37];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(r.NextDouble() * 10 - 5);
        x[0] = 9f; // the maximum, in both rows
        var a = new float[37];
        Ops.ScaledExp(x, 1.3f, a);
        var shifted = new float[40];
        shifted[0] = 9f; shifted[1] = -50f; shifted[2] = -50f;
        x.AsSpan(1).CopyTo(shifted.AsSpan(3));
        var b = new float[40];
        Ops.ScaledExp(shifted, 1.3f, b);
        for (int i = 1; i < 37; i++) Assert.Equal(a[i], b[i + 2]);
    }
}
