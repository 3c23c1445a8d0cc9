using FrSpec.Model;

namespace FrSpec.Tests.Model;

/// <summary>The vectorised rotation against the scalar formula it replaces, bit for bit.</summary>
public class RopeTests
{
    /// <summary>v[i] = a·cos − b·sin and v[i + half] = b·cos + a·sin, each product and sum rounded on its own, for head
    /// sizes whose halves are whole vectors, leave a tail, or are shorter than one vector.</summary>
    [Theory]
    [InlineData(6)]
    [InlineData(24)]
    [InlineData(34)]
    [InlineData(64)]
    [InlineData(128)]
    public void ApplyHasTheBitsOfTheScalarRotation(int headDim)
    {
        var r = new Random(headDim);
        int half = headDim / 2;
        float Rand() => (float)(r.NextDouble() * 8 - 4);
        for (int trial = 0; trial < 20; trial++)
        {
            var v = Enumerable.Range(0, headDim).Select(_ => Rand()).ToArray();
            var cos = Enumerable.Range(0, half).Select(_ => MathF.Cos(Rand())).ToArray();
            var sin = Enumerable.Range(0, half).Select(_ => MathF.Sin(Rand())).ToArray();
            var expected = (float[])v.Clone();
            for (int i = 0; i < half; i++)
            {
                float a = v[i], b = v[i + half];
                expected[i] = a * cos[i] - b * sin[i];
                expected[i + half] = b * cos[i] + a * sin[i];
            }
            Rope.Apply(v, cos, sin);
            Assert.Equal(expected, v);
        }
    }
}
