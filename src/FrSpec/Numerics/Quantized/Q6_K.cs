using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FrSpec.Numerics.Quantized;

/// <summary>
/// ggml's Q6_K super-blocks (6.5625 bits per weight): 256 weights in 16 sub-blocks of 16, stored as 128 bytes ql of
/// low 4 code bits, 64 bytes qh of high 2 code bits, 16 signed 8-bit sub-block scales sc, then an f16 d; weight =
/// d·sc·(q − 32) with 6-bit codes q.
///
/// Each half of 128 weights uses 64 ql bytes, 32 qh bytes and 8 scales. Within a half, for l &lt; 32, weights l, 32 + l,
/// 64 + l and 96 + l take the low nibble of ql[l], the low nibble of ql[32 + l], the high nibble of ql[l] and the high
/// nibble of ql[32 + l], and bits 0–1, 2–3, 4–5 and 6–7 of qh[l] as their top bits. Sub-block i (weights 16i…16i + 15
/// of the super-block) uses scale sc[i].
/// </summary>
public static unsafe class Q6_K
{
    public const int BlockSize = 256;
    public const int BlockBytes = 210;
    private const int HighOffset = 128, ScalesOffset = 192, DOffset = 208;

    /// <summary>The 6-bit code of weight <paramref name="i"/> (0…255) of a super-block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Code(byte* block, int i)
    {
        int half = i / 128, r = i % 128, quarter = r / 32, l = r % 32;
        byte low = block[64 * half + (quarter % 2) * 32 + l];
        int lowBits = quarter < 2 ? low & 0xF : low >> 4;
        int highBits = (block[HighOffset + 32 * half + l] >> (2 * quarter)) & 3;
        return lowBits | (highBits << 4);
    }

    /// <summary>Plain per-weight decoding: the reference the vectorised <see cref="Dequantize"/> is tested against.</summary>
    public static void DequantizeReference(byte* src, Span<float> dst)
    {
        int blocks = Blocks(dst.Length);
        for (int b = 0; b < blocks; b++)
        {
            byte* block = src + (long)b * BlockBytes;
            float d = (float)*(Half*)(block + DOffset);
            sbyte* sc = (sbyte*)(block + ScalesOffset);
            var y = dst.Slice(b * BlockSize, BlockSize);
            for (int i = 0; i < BlockSize; i++) y[i] = d * sc[i / 16] * (Code(block, i) - 32);
        }
    }

    /// <summary>Decodes dst.Length weights (whole super-blocks) to f32; bit-identical to <see cref="DequantizeReference"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dequantize(byte* src, Span<float> dst)
    {
        if (!Vector128.IsHardwareAccelerated) { DequantizeReference(src, dst); return; }
        int blocks = Blocks(dst.Length);
        var low = Vector128.Create((byte)0xF);
        var two = Vector128.Create((byte)3);
        var offset = Vector128.Create(32);
        fixed (float* y0 = dst)
        {
            for (int b = 0; b < blocks; b++)
            {
                byte* block = src + (long)b * BlockBytes;
                float d = (float)*(Half*)(block + DOffset);
                sbyte* sc = (sbyte*)(block + ScalesOffset);
                for (int half = 0; half < 2; half++)
                {
                    byte* ql = block + 64 * half;
                    byte* qh = block + HighOffset + 32 * half;
                    float* y = y0 + (long)b * BlockSize + 128 * half;
                    for (int g = 0; g < 2; g++)
                    {
                        var a = Vector128.Load(ql + 16 * g);
                        var c = Vector128.Load(ql + 32 + 16 * g);
                        var h = Vector128.Load(qh + 16 * g);
                        var q0 = (a & low) | Vector128.ShiftLeft(h & two, 4);
                        var q1 = (c & low) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(h, 2) & two, 4);
                        var q2 = Vector128.ShiftRightLogical(a, 4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(h, 4) & two, 4);
                        var q3 = Vector128.ShiftRightLogical(c, 4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(h, 6), 4);
                        int s = 8 * half + g;
                        Lanes.StoreOffset(q0, offset, Vector128.Create(d * sc[s]), y + 16 * g);
                        Lanes.StoreOffset(q1, offset, Vector128.Create(d * sc[s + 2]), y + 32 + 16 * g);
                        Lanes.StoreOffset(q2, offset, Vector128.Create(d * sc[s + 4]), y + 64 + 16 * g);
                        Lanes.StoreOffset(q3, offset, Vector128.Create(d * sc[s + 6]), y + 96 + 16 * g);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Encodes src (whole super-blocks) into dst. Each sub-block of 16 gets a signed scale from a least-squares search
    /// weighted by w² (<see cref="ScaleSearch.FitSymmetric"/>); the 16 scales are quantized to 8 bits against the one of
    /// largest magnitude (which maps to −128), and every code is recomputed with the scale it will be decoded with.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> src, byte* dst)
    {
        int blocks = Blocks(src.Length);
        Span<float> scales = stackalloc float[16];
        Span<byte> codes = stackalloc byte[BlockSize];
        for (int b = 0; b < blocks; b++)
        {
            var x = src.Slice(b * BlockSize, BlockSize);
            float maxScale = 0;
            for (int i = 0; i < 16; i++)
            {
                scales[i] = ScaleSearch.FitSymmetric(x.Slice(16 * i, 16), 32);
                if (MathF.Abs(scales[i]) > MathF.Abs(maxScale)) maxScale = scales[i];
            }
            byte* block = dst + (long)b * BlockBytes;
            sbyte* sc = (sbyte*)(block + ScalesOffset);
            float iscale = maxScale != 0 ? -128f / maxScale : 0;
            var dh = (Half)(maxScale != 0 ? 1 / iscale : 0);
            *(Half*)(block + DOffset) = dh;
            for (int i = 0; i < 16; i++)
            {
                sc[i] = (sbyte)Math.Clamp((int)MathF.Round(iscale * scales[i]), -128, 127);
                float ed = (float)dh * sc[i];
                for (int k = 0; k < 16; k++)
                    codes[16 * i + k] = (byte)(ed == 0 ? 32 : Math.Clamp((int)MathF.Round(x[16 * i + k] / ed), -32, 31) + 32);
            }
            new Span<byte>(block, ScalesOffset).Clear();
            for (int i = 0; i < BlockSize; i++)
            {
                int half = i / 128, r = i % 128, quarter = r / 32, l = r % 32;
                byte* lowByte = block + 64 * half + (quarter % 2) * 32 + l;
                *lowByte |= (byte)(quarter < 2 ? codes[i] & 0xF : (codes[i] & 0xF) << 4);
                block[HighOffset + 32 * half + l] |= (byte)((codes[i] >> 4) << (2 * quarter));
            }
        }
    }

    private static int Blocks(int weights) =>
        weights % BlockSize == 0 ? weights / BlockSize : throw new ArgumentException($"{weights} weights are not whole {BlockSize}-weight Q6_K super-blocks");
}
