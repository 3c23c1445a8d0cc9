using FrSpec.Numerics;
using FrSpec.Numerics.Quantized;

namespace FrSpec.Tests.Numerics;

/// <summary>The Q8_0 block format (its products: Quantized/Int8ProductTests).</summary>
public unsafe class Q8_0Tests
{
    private static float[] Random(Random r, int count, float scale = 1) => Enumerable.Range(0, count).Select(_ => (float)(r.NextDouble() * 2 - 1) * scale).ToArray();

    [Fact]
    public void QuantizesAsGgmlDoes()
    {
        var x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = (j - 16) * 0.5f; // max |x| = 8 at j = 0
        var bytes = new byte[34];
        Q8_0.Quantize(x, bytes);
        float d = (float)BitConverter.ToHalf(bytes, 0);
        Assert.Equal((float)(Half)(8f / 127f), d);
        Assert.Equal(-127, (sbyte)bytes[2]);             // x = -8
        Assert.Equal(0, (sbyte)bytes[2 + 16]);           // x = 0
        Assert.Equal((sbyte)MathF.Round(0.5f * 127f / 8f, MidpointRounding.AwayFromZero), (sbyte)bytes[2 + 17]);
        var zeros = new byte[34];
        Q8_0.Quantize(new float[32], zeros);               // an all-zero block: d = 0, q = 0
        Assert.All(zeros, b => Assert.Equal(0, b));
    }

    [Fact]
    public void DequantizeInvertsQuantizeWithinHalfAStep()
    {
        var r = new Random(1);
        var x = Random(r, 32 * 7, 3);
        var bytes = FrSpec.Numerics.Convert.ToBytes(x, DType.Q8_0);
        Assert.Equal(7 * 34, bytes.Length);
        var back = new float[x.Length];
        fixed (byte* p = bytes) FrSpec.Numerics.Convert.ToFloat(DType.Q8_0, p, back);
        for (int b = 0; b < 7; b++)
        {
            float d = (float)BitConverter.ToHalf(bytes, b * 34);
            for (int j = 0; j < 32; j++)
            {
                int k = b * 32 + j;
                Assert.Equal(d * (sbyte)bytes[b * 34 + 2 + j], back[k]);
                Assert.True(Math.Abs(back[k] - x[k]) <= 0.5 * d * 1.01 + 1e-3 * Math.Abs(x[k]), $"{k}: {back[k]} vs {x[k]}");
            }
        }
        Assert.Throws<ArgumentException>(() => Q8_0.Quantize(new float[33], new byte[68]));
    }
}
