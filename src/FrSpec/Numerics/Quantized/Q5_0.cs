namespace FrSpec.Numerics.Quantized;

/// <summary>
/// ggml's Q5_0 block layout, as GGUF files store it: each block of 32 weights is an f16 scale d, a little-endian 32-bit
/// word qh holding bit 4 of every code (bit j for weight j), and 16 bytes qs whose low nibbles are bits 0–3 of weights
/// 0–15 and whose high nibbles those of weights 16–31; w = d·(q − 16), q in [0, 31] (22 bytes per 32 weights).
/// llama.cpp writes it where a K-quant does not fit the row (Q4_K_M of a model 896 wide, as Qwen2.5-0.5B). The engine has
/// no Q5_0 kernels: q − 16 lies in [−16, 15], so a block is exactly a Q8_0 block with the same scale, and files are
/// widened into Q8_0 at load (<see cref="WidenToQ8_0"/>): the same weights, computed by the Q8_0 kernels at Q8_0's size.
/// </summary>
public static unsafe class Q5_0
{
    public const int BlockSize = 32, BlockBytes = 22;

    /// <summary>
    /// Quantizes <paramref name="src"/> (a whole number of blocks) into <paramref name="dst"/> as ggml's reference does,
    /// so the same floats give llama.cpp's bytes: m = the value of largest magnitude (the first of equals), d = m / −16,
    /// q = min(31, ⌊w / d + 16.5⌋), and d stored as f16.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        if (src.Length % BlockSize != 0) throw new ArgumentException($"Q5_0 rows hold whole blocks of {BlockSize} values, got {src.Length}");
        int blocks = src.Length / BlockSize;
        if (dst.Length < blocks * BlockBytes) throw new ArgumentException("destination too short for the Q5_0 blocks");
        for (int b = 0; b < blocks; b++)
        {
            var x = src.Slice(b * BlockSize, BlockSize);
            float amax = 0, max = 0;
            for (int j = 0; j < BlockSize; j++)
                if (MathF.Abs(x[j]) > amax) { amax = MathF.Abs(x[j]); max = x[j]; }
            float d = max / -16f, id = d != 0 ? 1f / d : 0f;
            var block = dst.Slice(b * BlockBytes, BlockBytes);
            System.Runtime.InteropServices.MemoryMarshal.Write(block, (Half)d);
            uint qh = 0;
            for (int j = 0; j < 16; j++)
            {
                int q0 = Math.Min(31, (int)(x[j] * id + 16.5f)), q1 = Math.Min(31, (int)(x[j + 16] * id + 16.5f));
                block[6 + j] = (byte)((q0 & 0xF) | (q1 & 0xF) << 4);
                qh |= (uint)(q0 >> 4 & 1) << j | (uint)(q1 >> 4 & 1) << (j + 16);
            }
            System.Runtime.InteropServices.MemoryMarshal.Write(block[2..], qh);
        }
    }

    /// <summary>Rewrites <paramref name="blocks"/> Q5_0 blocks as Q8_0 blocks with the same scale and values q − 16.</summary>
    public static void WidenToQ8_0(byte* src, byte* dst, long blocks)
    {
        for (long b = 0; b < blocks; b++)
        {
            byte* s = src + b * BlockBytes, d = dst + b * Q8_0.BlockBytes;
            d[0] = s[0]; d[1] = s[1]; // the f16 scale
            uint qh = (uint)(s[2] | s[3] << 8 | s[4] << 16 | s[5] << 24);
            for (int j = 0; j < 16; j++)
            {
                byte packed = s[6 + j];
                d[2 + j] = (byte)(sbyte)(((packed & 0xF) | (int)((qh >> j) & 1) << 4) - 16);
                d[18 + j] = (byte)(sbyte)(((packed >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - 16);
            }
        }
    }
}
