using FrSpec.Numerics;

namespace FrSpec.Tests.Numerics.Quantized;

/// <summary>
/// Hand-packed blocks, written from the ggml block descriptions independently of the encoders, decode to the values
/// the descriptions give (docs/gguf.md has them in words). Scales use all their bits (6-bit values above 15, negative
/// Q6_K scales) so a misplaced bit shows.
/// </summary>
public unsafe class BlockLayoutTests
{
    [Fact]
    public void Q4_0_LowNibblesAreTheFirstHalfOfTheBlock()
    {
        var block = new byte[18];
        BitConverter.TryWriteBytes(block.AsSpan(0, 2), (Half)0.5f);
        for (int j = 0; j < 16; j++) block[2 + j] = (byte)(j | ((15 - j) << 4));
        var y = Decode(DType.Q4_0, block, 32);
        for (int j = 0; j < 16; j++)
        {
            Assert.Equal((j - 8) * 0.5f, y[j]);
            Assert.Equal((7 - j) * 0.5f, y[j + 16]);
        }
    }

    [Fact]
    public void Q4_K_SixBitScalesMinsAndNibbleOrder()
    {
        int[] sc = [5, 63, 17, 40, 33, 1, 62, 48], m = [60, 0, 31, 16, 47, 63, 2, 35];
        var block = new byte[144];
        BitConverter.TryWriteBytes(block.AsSpan(0, 2), (Half)0.25f);
        BitConverter.TryWriteBytes(block.AsSpan(2, 2), (Half)0.125f);
        var s = block.AsSpan(4, 12);
        for (int j = 0; j < 4; j++)
        {
            s[j] = (byte)((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));   // top bits of sub-block j + 4's scale ride here
            s[j + 4] = (byte)((m[j] & 63) | ((m[j + 4] >> 4) << 6));
            s[j + 8] = (byte)((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
        }
        int Code(int i) => (i * 7 + i / 32) % 16;
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                block[16 + 32 * c + l] = (byte)(Code(64 * c + l) | (Code(64 * c + 32 + l) << 4));
        var y = Decode(DType.Q4_K, block, 256);
        for (int i = 0; i < 256; i++)
            Assert.Equal(0.25f * sc[i / 32] * Code(i) - 0.125f * m[i / 32], y[i]);
    }

    [Fact]
    public void Q6_K_LowAndHighBitsAndSignedScales()
    {
        var block = new byte[210];
        int Code(int i) => (i * 37 + 11) % 64;
        int Scale(int sub) => sub * 17 - 128;   // −128 … 127
        for (int i = 0; i < 256; i++)
        {
            int half = i / 128, r = i % 128, l = r % 32, quarter = r / 32;
            int lowIndex = 64 * half + l + (quarter is 1 or 3 ? 32 : 0);
            block[lowIndex] |= (byte)(quarter < 2 ? Code(i) & 0xF : (Code(i) & 0xF) << 4);
            block[128 + 32 * half + l] |= (byte)((Code(i) >> 4) << (2 * quarter));
        }
        for (int sub = 0; sub < 16; sub++) block[192 + sub] = (byte)(sbyte)Scale(sub);
        BitConverter.TryWriteBytes(block.AsSpan(208, 2), (Half)0.0625f);
        var y = Decode(DType.Q6_K, block, 256);
        for (int i = 0; i < 256; i++) Assert.Equal(0.0625f * Scale(i / 16) * (Code(i) - 32), y[i]);
    }

    [Fact]
    public void PartialBlocksAreRejected()
    {
        var block = new byte[144];
        var y = new float[100];
        Assert.Throws<ArgumentException>(() => { fixed (byte* p = block) FrSpec.Numerics.Convert.ToFloat(DType.Q4_K, p, y); });
        Assert.Throws<FrSpecException>(() => new WeightMatrix(DType.Q6_K, 1, 100, 0));
    }

    private static float[] Decode(DType t, byte[] block, int n)
    {
        var y = new float[n];
        fixed (byte* p = block) FrSpec.Numerics.Convert.ToFloat(t, p, y);
        return y;
    }
}
