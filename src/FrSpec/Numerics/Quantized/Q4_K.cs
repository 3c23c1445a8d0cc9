using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FrSpec.Numerics.Quantized;

/// <summary>
/// ggml's Q4_K super-blocks (4.5 bits per weight): 256 weights in 8 sub-blocks of 32, stored as f16 d and dmin,
/// 12 bytes of 6-bit sub-block scales sc and mins m, then 128 bytes of 4-bit codes q; weight = d·sc·q − dmin·m.
///
/// Scale bytes: for sub-blocks j &lt; 4, sc is the low 6 bits of byte j and m the low 6 bits of byte j + 4. For
/// j ≥ 4, byte j + 4 holds the low 4 bits of sc (low nibble) and of m (high nibble); the top 2 bits of sc sit in bits
/// 6–7 of byte j − 4 and those of m in bits 6–7 of byte j. Codes: each 64 weights use 32 bytes, weight l in the low
/// nibble of byte l and weight 32 + l in the high nibble (so sub-block 2c takes low nibbles, 2c + 1 high nibbles).
/// </summary>
public static unsafe class Q4_K
{
    public const int BlockSize = 256;
    public const int BlockBytes = 144;
    private const int ScalesOffset = 4, CodesOffset = 16;

    /// <summary>The 6-bit scale and min of sub-block <paramref name="j"/> from the 12 scale bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScaleMin(byte* s, int j, out int scale, out int min)
    {
        if (j < 4)
        {
            scale = s[j] & 63;
            min = s[j + 4] & 63;
        }
        else
        {
            scale = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
            min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
        }
    }

    /// <summary>Plain per-weight decoding: the reference the vectorised <see cref="Dequantize"/> is tested against.</summary>
    public static void DequantizeReference(byte* src, Span<float> dst)
    {
        int blocks = Blocks(dst.Length);
        for (int b = 0; b < blocks; b++)
        {
            byte* block = src + (long)b * BlockBytes;
            float d = (float)*(Half*)block, dmin = (float)*(Half*)(block + 2);
            var y = dst.Slice(b * BlockSize, BlockSize);
            for (int i = 0; i < BlockSize; i++)
            {
                int sub = i / 32, chunk = i / 64, l = i % 32;
                ScaleMin(block + ScalesOffset, sub, out int sc, out int m);
                byte packed = block[CodesOffset + chunk * 32 + l];
                int q = sub % 2 == 0 ? packed & 0xF : packed >> 4;
                y[i] = d * sc * q - dmin * m;
            }
        }
    }

    /// <summary>Decodes dst.Length weights (whole super-blocks) to f32; bit-identical to <see cref="DequantizeReference"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dequantize(byte* src, Span<float> dst)
    {
        if (!Vector128.IsHardwareAccelerated) { DequantizeReference(src, dst); return; }
        int blocks = Blocks(dst.Length);
        var low = Vector128.Create((byte)0xF);
        fixed (float* y0 = dst)
        {
            for (int b = 0; b < blocks; b++)
            {
                byte* block = src + (long)b * BlockBytes;
                float d = (float)*(Half*)block, dmin = (float)*(Half*)(block + 2);
                float* y = y0 + (long)b * BlockSize;
                for (int chunk = 0; chunk < 4; chunk++)
                {
                    ScaleMin(block + ScalesOffset, 2 * chunk, out int sc0, out int m0);
                    ScaleMin(block + ScalesOffset, 2 * chunk + 1, out int sc1, out int m1);
                    var s0 = Vector128.Create(d * sc0); var n0 = Vector128.Create(dmin * m0);
                    var s1 = Vector128.Create(d * sc1); var n1 = Vector128.Create(dmin * m1);
                    byte* q = block + CodesOffset + chunk * 32;
                    var qa = Vector128.Load(q);
                    var qb = Vector128.Load(q + 16);
                    float* yc = y + chunk * 64;
                    Lanes.StoreAffine(qa & low, s0, n0, yc);
                    Lanes.StoreAffine(qb & low, s0, n0, yc + 16);
                    Lanes.StoreAffine(Vector128.ShiftRightLogical(qa, 4), s1, n1, yc + 32);
                    Lanes.StoreAffine(Vector128.ShiftRightLogical(qb, 4), s1, n1, yc + 48);
                }
            }
        }
    }

    /// <summary>
    /// Encodes src (whole super-blocks) into dst. Each sub-block gets the (scale, min) of a weighted least-squares fit
    /// searched over 21 code grids (<see cref="ScaleSearch.FitAsymmetric"/>), weighting each weight by
    /// rms(sub-block) + |w| so large weights are kept more precisely, as llama.cpp's reference quantizer does. Scales
    /// and mins are then quantized to 6 bits against the super-block's largest ones, and every code is recomputed
    /// with the scale and min it will really be decoded with.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> src, byte* dst)
    {
        int blocks = Blocks(src.Length);
        Span<float> scales = stackalloc float[8], mins = stackalloc float[8], weights = stackalloc float[32];
        Span<byte> codes = stackalloc byte[BlockSize];
        for (int b = 0; b < blocks; b++)
        {
            var x = src.Slice(b * BlockSize, BlockSize);
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 8; j++)
            {
                var sub = x.Slice(32 * j, 32);
                float sumSq = 0;
                foreach (float v in sub) sumSq += v * v;
                float rms = MathF.Sqrt(sumSq / 32);
                for (int i = 0; i < 32; i++) weights[i] = rms + MathF.Abs(sub[i]);
                (scales[j], mins[j]) = ScaleSearch.FitAsymmetric(sub, weights, 15);
                maxScale = MathF.Max(maxScale, scales[j]);
                maxMin = MathF.Max(maxMin, mins[j]);
            }

            byte* block = dst + (long)b * BlockBytes;
            byte* s = block + ScalesOffset;
            new Span<byte>(s, 12).Clear();
            float invScale = maxScale > 0 ? 63 / maxScale : 0, invMin = maxMin > 0 ? 63 / maxMin : 0;
            for (int j = 0; j < 8; j++)
            {
                int ls = Math.Min(63, (int)MathF.Round(invScale * scales[j]));
                int lm = Math.Min(63, (int)MathF.Round(invMin * mins[j]));
                if (j < 4)
                {
                    s[j] = (byte)ls;
                    s[j + 4] = (byte)lm;
                }
                else
                {
                    s[j + 4] = (byte)((ls & 0xF) | ((lm & 0xF) << 4));
                    s[j - 4] |= (byte)((ls >> 4) << 6);
                    s[j] |= (byte)((lm >> 4) << 6);
                }
            }
            var dh = (Half)(maxScale / 63);
            var dminh = (Half)(maxMin / 63);
            *(Half*)block = dh;
            *(Half*)(block + 2) = dminh;

            for (int j = 0; j < 8; j++)
            {
                ScaleMin(s, j, out int sc, out int m);
                float ed = (float)dh * sc, em = (float)dminh * m;
                for (int i = 0; i < 32; i++)
                    codes[32 * j + i] = ed == 0 ? (byte)0 : (byte)Math.Clamp((int)MathF.Round((x[32 * j + i] + em) / ed), 0, 15);
            }
            byte* q = block + CodesOffset;
            for (int chunk = 0; chunk < 4; chunk++)
                for (int l = 0; l < 32; l++)
                    q[chunk * 32 + l] = (byte)(codes[64 * chunk + l] | (codes[64 * chunk + 32 + l] << 4));
        }
    }

    private static int Blocks(int weights) =>
        weights % BlockSize == 0 ? weights / BlockSize : throw new ArgumentException($"{weights} weights are not whole {BlockSize}-weight Q4_K super-blocks");
}
