namespace FrSpec.Numerics.Quantized;

/// <summary>
/// How the engine stores block-quantized matrices: rows in groups of 16, interleaved so that one 64-byte vector holds 4
/// consecutive weights (one dword) of each of the group's 16 rows. A vpdpbusd of such a vector against an activation
/// dword broadcast to all lanes adds 4 products to each row's own lane, so a whole block accumulates with no shuffles and
/// no horizontal sums, a group is read as one sequential stream, and the vector is reused for every activation row of a
/// batch. The layout keeps every bit of the file's blocks (a group block is exactly 16 file blocks, rearranged), so the
/// matrix takes the file's bytes; the last group is padded with zero rows. docs/gguf.md draws the layouts.
///
/// Per group and per file block ("group block"), by type (lane r = row 16g + r; "vector v" = 64 bytes, dword r of it
/// belonging to row r):
/// <list type="bullet">
/// <item>Q8_0 (544 bytes): 16 f16 scales d, then 8 vectors; vector s holds q[4s..4s+3] of each row, stored q + 128
/// (unsigned, vpdpbusd's unsigned operand).</item>
/// <item>Q4_0 (288 bytes): 16 f16 d, then 4 vectors; vector j holds the file's code bytes 4j..4j+3 (low nibbles: weights
/// 4j + i, high nibbles: weights 16 + 4j + i).</item>
/// <item>Q4_K (2304 bytes): 16 f16 d, 16 f16 dmin, the 6-bit scales and mins in 4 runs of 48 bytes, one per sub-block
/// pair c (<see cref="Q4_KScales"/>: 3 bytes per row, sc_2c | m_2c &lt;&lt; 6 | sc_2c+1 &lt;&lt; 12 | m_2c+1 &lt;&lt; 18),
/// then 32 vectors; vector 8c + t holds code bytes 32c + 4t … + 3 (low nibbles: sub-block 2c, high: 2c + 1).</item>
/// <item>Q6_K (3360 bytes per block; laid out so that a row of groups is read strictly front to back in 64-byte lines,
/// see <see cref="Q6_KBody"/>): the group starts with the 16 f16 d of every block (32 bytes per block), then one
/// 3,328-byte body per block, two halves of 1,664 bytes each. A half h holds its 8 sub-blocks' scales (128 bytes: byte
/// 16s + r is scale 8h + s of row r), then 8 steps u of 3 vectors each, in the order the kernels use them: the low bits of
/// quarters 0 and 2 (ql bytes 64h + 4u … + 3), those of quarters 1 and 3 (ql bytes 64h + 32 + 4u … + 3), and the high
/// bits of all four (qh bytes 32h + 4u … + 3).</item>
/// </list>
/// </summary>
public static unsafe class InterleavedLayout
{
    public const int GroupRows = 16;

    /// <summary>Groups of a matrix with <paramref name="rows"/> rows.</summary>
    public static int Groups(int rows) => (rows + GroupRows - 1) / GroupRows;

    /// <summary>Bytes of one group (16 rows).</summary>
    public static long GroupBytes(DType type, int cols) => GroupRows * DTypeInfo.RowBytes(type, cols);

    /// <summary>Bytes of the whole matrix (the last group padded to 16 rows).</summary>
    public static long MatrixBytes(DType type, int rows, int cols) => Groups(rows) * GroupBytes(type, cols);

    /// <summary>
    /// Q6_K's group layout. Why not 16 file blocks side by side, as the other types: a 3,360-byte group block is 52.5 cache
    /// lines with three regions (low bits, high bits, scales) read side by side, and the hardware prefetchers lose track of
    /// it; streamed at decode it reached about half the bandwidth Q4_K and Q8_0 reach. With the d values of all blocks in
    /// front, a block body is 52 whole lines (64-byte aligned when the group is, i.e. for an even number of blocks per
    /// row), and a kernel reads its bytes in address order.
    /// </summary>
    internal const int Q6_KDBytes = 2 * GroupRows, Q6_KBody = 3328, Q6_KHalf = Q6_KBody / 2;

    /// <summary>Q6_K, within a block body: the 16 scale bytes of sub-block <paramref name="s"/> (0..15).</summary>
    internal static int Q6_KScales(int s) => Q6_KHalf * (s >> 3) + 16 * (s & 7);

    /// <summary>Q6_K, within a block body: low-bit vector <paramref name="t"/> (0..15: ql bytes 64h + 4t … + 3) of half <paramref name="h"/>.</summary>
    internal static int Q6_KLow(int h, int t) => Q6_KHalf * h + 128 + 192 * (t & 7) + 64 * (t >> 3);

    /// <summary>Q6_K, within a block body: high-bit vector <paramref name="u"/> (0..7: qh bytes 32h + 4u … + 3) of half <paramref name="h"/>.</summary>
    internal static int Q6_KHigh(int h, int u) => Q6_KHalf * h + 128 + 192 * u + 128;

    /// <summary>Where the 16 rows' data of file block <paramref name="b"/> (of <paramref name="blocks"/> per row) starts in
    /// a group: the group block, or for Q6_K the block body (its d values are at 32·b).</summary>
    internal static long BlockOffset(DType type, int blocks, int b) =>
        type == DType.Q6_K ? (long)Q6_KDBytes * blocks + (long)Q6_KBody * b : (long)b * GroupRows * DTypeInfo.BlockBytes(type);

    /// <summary>Writes file-layout row <paramref name="fileRow"/> (DTypeInfo.RowBytes bytes) as row <paramref name="row"/>
    /// of the interleaved matrix at <paramref name="matrix"/>.</summary>
    public static void PackRow(DType type, int cols, byte* fileRow, byte* matrix, int row)
    {
        int blockBytes = DTypeInfo.BlockBytes(type), lane = row % GroupRows;
        byte* group = matrix + row / GroupRows * GroupBytes(type, cols);
        for (int b = 0, blocks = cols / DTypeInfo.BlockSize(type); b < blocks; b++)
        {
            byte* f = fileRow + (long)b * blockBytes;
            if (type == DType.Q6_K) ((ushort*)(group + Q6_KDBytes * b))[lane] = *(ushort*)(f + 208);
            PackBlock(type, f, lane, group + BlockOffset(type, blocks, b));
        }
    }

    /// <summary>Reads row <paramref name="row"/> of an interleaved matrix back into file layout.</summary>
    public static void UnpackRow(DType type, int cols, byte* matrix, int row, byte* fileRow)
    {
        int blockBytes = DTypeInfo.BlockBytes(type), lane = row % GroupRows;
        byte* group = matrix + row / GroupRows * GroupBytes(type, cols);
        for (int b = 0, blocks = cols / DTypeInfo.BlockSize(type); b < blocks; b++)
        {
            byte* f = fileRow + (long)b * blockBytes;
            if (type == DType.Q6_K) *(ushort*)(f + 208) = ((ushort*)(group + Q6_KDBytes * b))[lane];
            UnpackBlock(type, group + BlockOffset(type, blocks, b), lane, f);
        }
    }

    private static void PackBlock(DType type, byte* f, int r, byte* g)
    {
        switch (type)
        {
            case DType.Q8_0:
                ((ushort*)g)[r] = *(ushort*)f;
                for (int s = 0; s < 8; s++)
                    for (int i = 0; i < 4; i++) g[32 + 64 * s + 4 * r + i] = (byte)(f[2 + 4 * s + i] ^ 0x80);
                break;
            case DType.Q4_0:
                ((ushort*)g)[r] = *(ushort*)f;
                for (int j = 0; j < 4; j++)
                    for (int i = 0; i < 4; i++) g[32 + 64 * j + 4 * r + i] = f[2 + 4 * j + i];
                break;
            case DType.Q4_K:
                ((ushort*)g)[r] = *(ushort*)f;
                ((ushort*)(g + 32))[r] = *(ushort*)(f + 2);
                Span<int> sc = stackalloc int[8], m = stackalloc int[8];
                for (int j = 0; j < 8; j++) Q4_K.ScaleMin(f + 4, j, out sc[j], out m[j]);
                for (int c = 0; c < 4; c++)
                {
                    int v = sc[2 * c] | m[2 * c] << 6 | sc[2 * c + 1] << 12 | m[2 * c + 1] << 18;
                    for (int i = 0; i < 3; i++) g[Q4_KScales(c) + 3 * r + i] = (byte)(v >> 8 * i);
                }
                for (int v = 0; v < 32; v++)
                    for (int i = 0; i < 4; i++) g[256 + 64 * v + 4 * r + i] = f[16 + 4 * v + i];
                break;
            case DType.Q6_K: // g: the block body (d is written by PackRow)
                for (int s = 0; s < 16; s++) g[Q6_KScales(s) + r] = f[192 + s];
                for (int v = 0; v < 32; v++)
                    for (int i = 0; i < 4; i++) g[Q6_KLow(v >> 4, v & 15) + 4 * r + i] = f[4 * v + i];
                for (int v = 0; v < 16; v++)
                    for (int i = 0; i < 4; i++) g[Q6_KHigh(v >> 3, v & 7) + 4 * r + i] = f[128 + 4 * v + i];
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), $"{type} is not block-quantized");
        }
    }

    private static void UnpackBlock(DType type, byte* g, int r, byte* f)
    {
        switch (type)
        {
            case DType.Q8_0:
                *(ushort*)f = ((ushort*)g)[r];
                for (int s = 0; s < 8; s++)
                    for (int i = 0; i < 4; i++) f[2 + 4 * s + i] = (byte)(g[32 + 64 * s + 4 * r + i] ^ 0x80);
                break;
            case DType.Q4_0:
                *(ushort*)f = ((ushort*)g)[r];
                for (int j = 0; j < 4; j++)
                    for (int i = 0; i < 4; i++) f[2 + 4 * j + i] = g[32 + 64 * j + 4 * r + i];
                break;
            case DType.Q4_K:
                *(ushort*)f = ((ushort*)g)[r];
                *(ushort*)(f + 2) = ((ushort*)(g + 32))[r];
                byte* sb = f + 4;
                new Span<byte>(sb, 12).Clear();
                for (int j = 0; j < 8; j++)
                {
                    ScaleMinOf(g, r, j, out int sc, out int m);
                    if (j < 4) { sb[j] = (byte)sc; sb[j + 4] = (byte)m; }
                    else
                    {
                        sb[j + 4] = (byte)((sc & 15) | (m & 15) << 4);
                        sb[j - 4] |= (byte)((sc >> 4) << 6);
                        sb[j] |= (byte)((m >> 4) << 6);
                    }
                }
                for (int v = 0; v < 32; v++)
                    for (int i = 0; i < 4; i++) f[16 + 4 * v + i] = g[256 + 64 * v + 4 * r + i];
                break;
            case DType.Q6_K: // g: the block body (d is read by UnpackRow)
                for (int s = 0; s < 16; s++) f[192 + s] = g[Q6_KScales(s) + r];
                for (int v = 0; v < 32; v++)
                    for (int i = 0; i < 4; i++) f[4 * v + i] = g[Q6_KLow(v >> 4, v & 15) + 4 * r + i];
                for (int v = 0; v < 16; v++)
                    for (int i = 0; i < 4; i++) f[128 + 4 * v + i] = g[Q6_KHigh(v >> 3, v & 7) + 4 * r + i];
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), $"{type} is not block-quantized");
        }
    }

    /// <summary>Q4_K, within a group block: the scales and mins of sub-blocks 2c and 2c + 1 (<paramref name="c"/> = 0..3),
    /// 3 bytes per row (row r at + 3r): sc_2c | m_2c &lt;&lt; 6 | sc_2c+1 &lt;&lt; 12 | m_2c+1 &lt;&lt; 18, little-endian.
    /// A vpermd and a vpshufb bring a row's 3 bytes into its dword lane, and each field is then one shift and one mask away (the
    /// file's 12-byte packing took three loads and eleven bit operations per pair).</summary>
    internal static int Q4_KScales(int c) => 64 + 48 * c;

    /// <summary>Q4_K: the 6-bit scale and min of sub-block <paramref name="j"/> of lane <paramref name="r"/> in a group block.</summary>
    internal static void ScaleMinOf(byte* groupBlock, int r, int j, out int scale, out int min)
    {
        byte* p = groupBlock + Q4_KScales(j / 2) + 3 * r;
        int v = p[0] | p[1] << 8 | p[2] << 16, shift = 12 * (j & 1);
        scale = v >> shift & 63;
        min = v >> (shift + 6) & 63;
    }
}
