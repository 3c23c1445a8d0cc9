using FrSpec.Numerics;
using FrSpec.Numerics.Quantized;

namespace FrSpec.Tests.Numerics;

/// <summary>
/// The Q5_0 block format, which the engine reads from llama.cpp files and widens into Q8_0 at load (llama.cpp's own
/// logits on a file with Q5_0 tensors: GgufQuantizeTests, "qwen-narrow").
/// </summary>
public unsafe class Q5_0Tests
{
    /// <summary>A block assembled bit by bit from its codes, as the format describes it: d, then qh (bit j = bit 4 of
    /// code j), then qs (byte j: code j's low 4 bits, code j + 16's in the high nibble).</summary>
    private static byte[] Block(float d, int[] codes)
    {
        var b = new byte[Q5_0.BlockBytes];
        BitConverter.TryWriteBytes(b.AsSpan(0, 2), (Half)d);
        for (int j = 0; j < 32; j++)
            if ((codes[j] & 16) != 0) b[2 + j / 8] |= (byte)(1 << (j % 8));
        for (int j = 0; j < 16; j++) b[6 + j] = (byte)(codes[j] % 16 + 16 * (codes[j + 16] % 16));
        return b;
    }

    /// <summary>Q5_0 blocks to floats through the Q8_0 blocks the engine computes with.</summary>
    private static float[] Values(byte[] blocks)
    {
        int n = blocks.Length / Q5_0.BlockBytes;
        var widened = new byte[n * Q8_0.BlockBytes];
        var values = new float[n * Q5_0.BlockSize];
        fixed (byte* s = blocks, w = widened)
        {
            Q5_0.WidenToQ8_0(s, w, n);
            Q8_0.Dequantize(w, values);
        }
        return values;
    }

    [Fact]
    public void WidensToQ8_0BlocksOfTheSameWeights()
    {
        var r = new Random(5);
        for (int trial = 0; trial < 200; trial++)
        {
            int[] codes = Enumerable.Range(0, 32).Select(_ => r.Next(32)).ToArray();
            if (trial == 0) codes = Enumerable.Range(0, 32).ToArray(); // every code once
            float d = (float)(Half)((r.NextDouble() - 0.5) * 0.1);
            var block = Block(d, codes);
            var widened = new byte[Q8_0.BlockBytes];
            fixed (byte* s = block, w = widened) Q5_0.WidenToQ8_0(s, w, 1);
            Assert.Equal(block[0], widened[0]); Assert.Equal(block[1], widened[1]); // the same f16 scale
            for (int j = 0; j < 32; j++) Assert.Equal((sbyte)(codes[j] - 16), (sbyte)widened[2 + j]);
            var values = Values(block);
            for (int j = 0; j < 32; j++) Assert.Equal(d * (codes[j] - 16), values[j]); // w = d·(q − 16), bit for bit
        }
    }

    [Fact]
    public void QuantizesAsGgmlDoes()
    {
        var x = new float[64];
        for (int j = 0; j < 32; j++) x[j] = (j - 12) * 0.25f;      // largest magnitude +4.75 at j = 31: d = 4.75 / −16
        for (int j = 0; j < 32; j++) x[32 + j] = -(j % 5) * 1f;   // largest magnitude −4 (first at j = 4): d = 0.25
        var bytes = new byte[2 * Q5_0.BlockBytes];
        Q5_0.Quantize(x, bytes);
        var back = Values(bytes);
        Assert.Equal((float)(Half)(4.75f / -16f), (float)BitConverter.ToHalf(bytes, 0));
        Assert.Equal((float)(Half)0.25f, (float)BitConverter.ToHalf(bytes, Q5_0.BlockBytes));
        // the largest value is code 0 (−16 steps of a negative d); the other side clamps at code 31
        Assert.Equal(-16 * (float)(Half)(4.75f / -16f), back[31]);
        Assert.Equal(-4f, back[32 + 4]);
        Assert.Equal(0f, back[32]);
        for (int j = 0; j < 64; j++)
        {
            float d = Math.Abs((float)BitConverter.ToHalf(bytes, j < 32 ? 0 : Q5_0.BlockBytes));
            Assert.True(Math.Abs(back[j] - x[j]) <= 0.5f * d + 1e-3f * Math.Abs(x[j]), $"value {j}: {x[j]} came back as {back[j]}");
        }
        var zeros = new byte[Q5_0.BlockBytes];
        Q5_0.Quantize(new float[32], zeros); // d = 0: every code is 16 (weight 0)
        Assert.All(Values(zeros), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void QuantizeRefusesPartialBlocks()
    {
        Assert.Throws<ArgumentException>(() => Q5_0.Quantize(new float[31], new byte[Q5_0.BlockBytes]));
        Assert.Throws<ArgumentException>(() => Q5_0.Quantize(new float[64], new byte[Q5_0.BlockBytes]));
    }
}
