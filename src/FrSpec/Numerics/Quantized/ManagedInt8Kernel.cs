namespace FrSpec.Numerics.Quantized;

/// <summary>
/// The int8 products of one group of 16 interleaved rows (<see cref="InterleavedLayout"/>) against one tile of
/// <see cref="Int8Activations"/> in scalar code: the definition that the generated vpdpbusd kernels
/// (<see cref="CodeGen.Int8DotKernels"/>) and the AVX2 kernel (<see cref="Avx2Int8Kernel"/>, every managed SIMD path)
/// are tested against, and the portable path. Exact integer sums of each (row, sub-block), then the fp32 steps per row,
/// <c>acc = fma((float)T · s_w, dx, acc)</c> sub-block after sub-block (Q4_K: then <c>acc = fma(−m_w, dx·Σq, acc)</c>),
/// so all paths return the same bits.
/// </summary>
internal static unsafe class ManagedInt8Kernel
{
    private const int Lanes = InterleavedLayout.GroupRows;

    /// <summary>
    /// y[a·16 + r] = row r of the group times activation a of the tile, for a &lt; tile.Acts. <paramref name="group"/>
    /// points at the group, <paramref name="blocks"/> is the number of file blocks per row.
    /// </summary>
    public static void Group(DType type, byte* group, int blocks, Int8Activations.Tile tile, float* y)
    {
        int m = tile.Acts;
        var acc = stackalloc float[m * Lanes];
        var sum = stackalloc int[m * Lanes];
        var sw = stackalloc float[Lanes];
        var mw = stackalloc float[Lanes];
        var unpacked = stackalloc byte[64];
        var d = stackalloc float[Lanes];
        var dmin = stackalloc float[Lanes];
        new Span<float>(acc, m * Lanes).Clear();
        byte* xq = (byte*)tile.Q;
        float* xd = (float*)tile.D, xm = (float*)tile.M;
        int* xc = (int*)tile.C;
        byte* start = group;
        for (int b = 0; b < blocks; b++)
        {
            group = start + InterleavedLayout.BlockOffset(type, blocks, b);
            switch (type)
            {
                case DType.Q8_0:
                case DType.Q4_0:
                    for (int r = 0; r < Lanes; r++) sw[r] = (float)((Half*)group)[r];
                    for (int a = 0; a < m; a++) Fill(sum + a * Lanes, xc[a]);
                    for (int s = 0; s < 8; s++)
                    {
                        byte* w = type == DType.Q8_0 ? group + 32 + 64 * s : Nibbles(group + 32 + 64 * (s & 3), s >= 4, unpacked);
                        // Q4_0 step s covers weights 4s.. for s < 4 (low nibbles) and 16 + 4(s − 4).. (high nibbles)
                        int x = type == DType.Q8_0 ? 4 * s : s < 4 ? 4 * s : 16 + 4 * (s - 4);
                        for (int a = 0; a < m; a++) Dot(w, *(int*)(xq + a * 32 + x), sum + a * Lanes);
                    }
                    for (int a = 0; a < m; a++) Update(sum + a * Lanes, sw, xd[a], acc + a * Lanes);
                    xq += m * 32; xd += m; xc += m;
                    break;
                case DType.Q4_K:
                    for (int r = 0; r < Lanes; r++) { d[r] = (float)((Half*)group)[r]; dmin[r] = (float)((Half*)(group + 32))[r]; }
                    for (int j = 0; j < 8; j++)
                    {
                        for (int r = 0; r < Lanes; r++)
                        {
                            InterleavedLayout.ScaleMinOf(group, r, j, out int sc, out int mn);
                            sw[r] = d[r] * sc; mw[r] = dmin[r] * mn;
                        }
                        for (int a = 0; a < m; a++) Fill(sum + a * Lanes, 0);
                        for (int t = 0; t < 8; t++)
                        {
                            byte* w = Nibbles(group + 256 + 64 * (8 * (j / 2) + t), (j & 1) == 1, unpacked);
                            for (int a = 0; a < m; a++) Dot(w, *(int*)(xq + (j * m + a) * 32 + 4 * t), sum + a * Lanes);
                        }
                        for (int a = 0; a < m; a++)
                        {
                            Update(sum + a * Lanes, sw, xd[j * m + a], acc + a * Lanes);
                            for (int r = 0; r < Lanes; r++) acc[a * Lanes + r] = MathF.FusedMultiplyAdd(-mw[r], xm[j * m + a], acc[a * Lanes + r]);
                        }
                    }
                    xq += 8 * m * 32; xd += 8 * m; xm += 8 * m;
                    break;
                case DType.Q6_K:
                    for (int r = 0; r < Lanes; r++) d[r] = (float)((Half*)(start + InterleavedLayout.Q6_KDBytes * b))[r];
                    for (int h = 0; h < 2; h++)
                        for (int qq = 0; qq < 4; qq++)
                            for (int e = 0; e < 2; e++)
                            {
                                int s = 8 * h + 2 * qq + e, blk = 4 * h + qq;
                                for (int r = 0; r < Lanes; r++) sw[r] = d[r] * ((sbyte*)group)[InterleavedLayout.Q6_KScales(s) + r];
                                for (int a = 0; a < m; a++) Fill(sum + a * Lanes, xc[s * m + a]);
                                for (int u = 4 * e; u < 4 * e + 4; u++)
                                {
                                    byte* w = SixBit(group, h, qq, u, unpacked);
                                    for (int a = 0; a < m; a++) Dot(w, *(int*)(xq + (blk * m + a) * 32 + 16 * e + 4 * (u - 4 * e)), sum + a * Lanes);
                                }
                                for (int a = 0; a < m; a++) Update(sum + a * Lanes, sw, xd[blk * m + a], acc + a * Lanes);
                            }
                    xq += 8 * m * 32; xd += 8 * m; xc += 16 * m;
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(type));
            }
        }
        new ReadOnlySpan<float>(acc, m * Lanes).CopyTo(new Span<float>(y, m * Lanes));
    }

    private static void Fill(int* s, int v) => new Span<int>(s, Lanes).Fill(v);

    /// <summary>The low or high nibbles of a 64-byte vector, as bytes.</summary>
    private static byte* Nibbles(byte* v, bool high, byte* dst)
    {
        for (int i = 0; i < 64; i++) dst[i] = (byte)(high ? v[i] >> 4 : v[i] & 15);
        return dst;
    }

    /// <summary>Q6_K: the 6-bit codes of quarter <paramref name="qq"/>, step <paramref name="u"/> of half <paramref name="h"/>
    /// of the block body at <paramref name="group"/>.</summary>
    private static byte* SixBit(byte* group, int h, int qq, int u, byte* dst)
    {
        byte* low = group + InterleavedLayout.Q6_KLow(h, (qq & 1) * 8 + u);
        byte* high = group + InterleavedLayout.Q6_KHigh(h, u);
        for (int i = 0; i < 64; i++)
            dst[i] = (byte)((qq < 2 ? low[i] & 15 : low[i] >> 4) | (high[i] >> 2 * qq & 3) << 4);
        return dst;
    }

    /// <summary>s[r] += Σi w[4r + i]·x_i for the 16 lanes, x_i the bytes of <paramref name="x"/> (signed).</summary>
    private static void Dot(byte* w, int x, int* s)
    {
        sbyte* xb = (sbyte*)&x;
        for (int r = 0; r < Lanes; r++)
            s[r] += w[4 * r] * xb[0] + w[4 * r + 1] * xb[1] + w[4 * r + 2] * xb[2] + w[4 * r + 3] * xb[3];
    }

    /// <summary>acc[r] = fma((float)sum[r]·sw[r], dx, acc[r]) for the 16 lanes.</summary>
    private static void Update(int* sum, float* sw, float dx, float* acc)
    {
        for (int r = 0; r < Lanes; r++) acc[r] = MathF.FusedMultiplyAdd(sum[r] * sw[r], dx, acc[r]);
    }
}
