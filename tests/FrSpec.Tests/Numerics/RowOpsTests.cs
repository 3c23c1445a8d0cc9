using System.Runtime.Intrinsics;
using FrSpec.Numerics;

namespace FrSpec.Tests.Numerics;

/// <summary>
/// The row operations of a layer pass against plain references: SwiGLU's activation element by element through the
/// 8-lane formula (the 16-lane path and the padded tail must give every element the same bits wherever it falls, the
/// property batch invariance rests on) and against double precision; the fused residual add + RMSNorm against the add
/// and the norm done one after the other.
/// </summary>
public class RowOpsTests
{
    private static readonly float[] Extremes = [0f, -0f, 1e-30f, -1e-30f, 87f, -87f, 88.5f, -88.5f, 100f, -100f, 1e10f, -1e10f, float.MaxValue, float.MinValue];

    [Fact]
    public void SiluMulGivesEachElementTheBitsOfTheEightLaneFormulaAtAnyLengthAndOffset()
    {
        var r = new Random(5);
        foreach (int length in new[] { 1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 8192 + 5 })
        {
            var gate = new float[length + 2];
            var up = new float[length + 2];
            for (int i = 0; i < gate.Length; i++)
            {
                gate[i] = r.Next(4) == 0 ? Extremes[r.Next(Extremes.Length)] : (float)(r.NextDouble() * 16 - 8);
                up[i] = (float)(r.NextDouble() * 4 - 2);
            }
            var got = (float[])gate.Clone();
            Ops.SiluMul(got.AsSpan(0, length), up);
            for (int i = 0; i < length; i++)
            {
                var g = Vector256.Create(gate[i]);
                float expected = (g / (Vector256<float>.One + VectorExp.Exp8(-g)) * Vector256.Create(up[i])).GetElement(0);
                Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(got[i]),
                    $"length {length}, element {i}: {got[i]} vs {expected} (gate {gate[i]})");
                if (Math.Abs(gate[i]) < 80)
                {
                    double silu = gate[i] / (1 + Math.Exp(-(double)gate[i])) * up[i];
                    Assert.True(Math.Abs(got[i] - silu) <= 2e-6 * (Math.Abs(silu) + 1e-6), $"length {length}, element {i}: {got[i]} vs {silu}");
                }
            }
            Assert.Equal(gate.AsSpan(length).ToArray(), got.AsSpan(length).ToArray()); // nothing written past the row
        }
    }

    [Fact]
    public void TheSixteenLaneExpHasTheEightLaneBitsInEveryLane()
    {
        var r = new Random(6);
        var x = new float[16];
        for (int round = 0; round < 200; round++)
        {
            for (int i = 0; i < 16; i++) x[i] = round < 4 ? Extremes[(i + 16 * round) % Extremes.Length] : (float)(r.NextDouble() * 200 - 100);
            var wide = VectorExp.Exp16(Vector512.Create(x));
            for (int i = 0; i < 16; i++)
                Assert.Equal(BitConverter.SingleToInt32Bits(VectorExp.Exp8(Vector256.Create(x[i])).GetElement(0)), BitConverter.SingleToInt32Bits(wide.GetElement(i)));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(67)]
    [InlineData(2048)]
    public void AddAndNormEqualsTheAddThenTheNorm(int width)
    {
        var r = new Random(width);
        float[] Rand(double spread) => Enumerable.Range(0, width).Select(_ => (float)((r.NextDouble() * 2 - 1) * spread)).ToArray();
        var x = Rand(3); var residual = Rand(1); var weight = Rand(1.5);
        var plainX = (float[])x.Clone();
        var plainOut = new float[width];
        System.Numerics.Tensors.TensorPrimitives.Add(plainX, residual, plainX);
        Ops.RmsNorm(plainX, weight, 1e-5f, plainOut);
        var fusedOut = new float[width];
        Ops.AddAndNorm(x, residual, weight, 1e-5f, fusedOut);
        Assert.Equal(plainX, x);
        Assert.Equal(plainOut, fusedOut);
        // the one-pass (x·scale)·weight has the bits of the two whole-row multiplications the norm used before
        var twoPasses = new float[width];
        float scale32 = 1f / MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(plainX, plainX) / width + 1e-5f);
        System.Numerics.Tensors.TensorPrimitives.Multiply(plainX, scale32, twoPasses);
        System.Numerics.Tensors.TensorPrimitives.Multiply(twoPasses, weight, twoPasses);
        Assert.Equal(twoPasses, fusedOut);
        // and the norm is (x·scale)·weight rounded in that order, against a double reference
        double ss = plainX.Sum(v => (double)v * v);
        double scale = 1 / Math.Sqrt(ss / width + 1e-5);
        for (int i = 0; i < width; i++)
            Assert.True(Math.Abs(fusedOut[i] - plainX[i] * scale * weight[i]) <= 1e-5 * (1 + Math.Abs(plainX[i] * scale * weight[i])), $"element {i}");
    }
}
