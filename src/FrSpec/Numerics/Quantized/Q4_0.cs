using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FrSpec.Numerics.Quantized;

/// <summary>
/// ggml's Q4_0 blocks (4.5 bits per weight): 32 weights as an f16 scale d and 16 bytes of 4-bit codes q, weight
/// = d·(q − 8). Byte j holds weight j in its low nibble and weight j + 16 in its high nibble.
/// </summary>
public static unsafe class Q4_0
{
    public const int BlockSize = 32;
    public const int BlockBytes = 18;

    /// <summary>Plain per-weight decoding: the reference the vectorised <see cref="Dequantize"/> is tested against.</summary>
    public static void DequantizeReference(byte* src, Span<float> dst)
    {
        int blocks = Blocks(dst.Length);
        for (int b = 0; b < blocks; b++)
        {
            byte* block = src + (long)b * BlockBytes;
            float d = (float)*(Half*)block;
            byte* q = block + 2;
            var y = dst.Slice(b * BlockSize, BlockSize);
            for (int j = 0; j < 16; j++)
            {
                y[j] = ((q[j] & 0xF) - 8) * d;
                y[j + 16] = ((q[j] >> 4) - 8) * d;
            }
        }
    }

    /// <summary>Decodes dst.Length weights (whole blocks) to f32; bit-identical to <see cref="DequantizeReference"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dequantize(byte* src, Span<float> dst)
    {
        if (!Vector128.IsHardwareAccelerated) { DequantizeReference(src, dst); return; }
        int blocks = Blocks(dst.Length);
        var low = Vector128.Create((byte)0xF);
        var eight = Vector128.Create(8);
        fixed (float* y0 = dst)
        {
            for (int b = 0; b < blocks; b++)
            {
                byte* block = src + (long)b * BlockBytes;
                var d = Vector128.Create((float)*(Half*)block);
                var q = Vector128.Load(block + 2);
                float* y = y0 + (long)b * BlockSize;
                Lanes.StoreOffset(q & low, eight, d, y);
                Lanes.StoreOffset(Vector128.ShiftRightLogical(q, 4), eight, d, y + 16);
            }
        }
    }

    /// <summary>
    /// Encodes src (whole blocks) into dst. Per block the weight of largest magnitude maps to code 0 (−8·d), so the
    /// asymmetric range [−8, 7] spends its extra step on the side that needs it; the rest round to nearest.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> src, byte* dst)
    {
        int blocks = Blocks(src.Length);
        for (int b = 0; b < blocks; b++)
        {
            var x = src.Slice(b * BlockSize, BlockSize);
            float max = 0, amax = 0;
            foreach (float v in x)
                if (MathF.Abs(v) > amax) { amax = MathF.Abs(v); max = v; }
            var dh = (Half)(max / -8f);
            float d = (float)dh, id = d != 0 ? 1f / d : 0f;
            byte* block = dst + (long)b * BlockBytes;
            *(Half*)block = dh;
            for (int j = 0; j < 16; j++)
            {
                int lo = Math.Clamp((int)MathF.Round(x[j] * id) + 8, 0, 15);
                int hi = Math.Clamp((int)MathF.Round(x[j + 16] * id) + 8, 0, 15);
                block[2 + j] = (byte)(lo | (hi << 4));
            }
        }
    }

    private static int Blocks(int weights) =>
        weights % BlockSize == 0 ? weights / BlockSize : throw new ArgumentException($"{weights} weights are not whole {BlockSize}-weight Q4_0 blocks");
}
