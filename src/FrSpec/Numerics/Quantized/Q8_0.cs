namespace FrSpec.Numerics.Quantized;

/// <summary>
/// ggml's Q8_0 block layout, byte-identical to GGUF files: each block of 32 weights is an f16 scale d followed by 32
/// signed bytes q, and w = d·q (34 bytes per 32 weights). Quantizing follows ggml's reference: d = max|w| / 127,
/// q = round(w / d) with halves rounded away from zero, so the same floats give the same bytes as llama.cpp.
/// </summary>
public static unsafe class Q8_0
{
    public const int BlockSize = 32, BlockBytes = 34;

    /// <summary>Quantizes <paramref name="src"/> (a whole number of blocks) into <paramref name="dst"/>.</summary>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        if (src.Length % BlockSize != 0) throw new ArgumentException($"Q8_0 rows hold whole blocks of {BlockSize} values, got {src.Length}");
        int blocks = src.Length / BlockSize;
        if (dst.Length < blocks * BlockBytes) throw new ArgumentException("destination too short for the Q8_0 blocks");
        for (int b = 0; b < blocks; b++)
        {
            var x = src.Slice(b * BlockSize, BlockSize);
            float amax = 0;
            for (int j = 0; j < BlockSize; j++) amax = MathF.Max(amax, MathF.Abs(x[j]));
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            var block = dst.Slice(b * BlockBytes, BlockBytes);
            System.Runtime.InteropServices.MemoryMarshal.Write(block, (Half)d);
            for (int j = 0; j < BlockSize; j++) block[2 + j] = (byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
        }
    }

    /// <summary>Expands Q8_0 blocks to floats: dst.Length values (a whole number of blocks).</summary>
    public static void Dequantize(byte* src, Span<float> dst)
    {
        if (dst.Length % BlockSize != 0) throw new ArgumentException($"Q8_0 rows hold whole blocks of {BlockSize} values, got {dst.Length}");
        for (int b = 0, blocks = dst.Length / BlockSize; b < blocks; b++)
        {
            byte* block = src + b * BlockBytes;
            float d = (float)*(Half*)block;
            sbyte* q = (sbyte*)(block + 2);
            var y = dst.Slice(b * BlockSize, BlockSize);
            for (int j = 0; j < BlockSize; j++) y[j] = d * q[j];
        }
    }

    /// <summary>Scale of block <paramref name="b"/> of a Q8_0 row.</summary>
    internal static float Scale(byte* row, int b) => (float)*(Half*)(row + b * BlockBytes);
}
