namespace FrSpec.Numerics;

/// <summary>
/// The panel layout of bf16 weights for the generated vdpbf16ps kernels (<see cref="WeightLayout.Bf16Panels"/>).
/// Rows are grouped into panels of up to 32 (the last one holds the rest, padded to a multiple of 16 with zero rows);
/// inside a panel, step s holds, for every row of the panel in order, the pair of columns (2s, 2s + 1) as one 32-bit
/// word. A kernel therefore reads a panel as one sequential stream, 16 rows per 64-byte vector, and each vector meets a
/// broadcast activation pair: no horizontal sums, and a single memory stream per thread that the hardware prefetchers
/// follow (row-major tiles read 4 rows at once, 4 streams). An odd column count is padded with a zero column.
/// When rows are a multiple of 16 and columns even, the packed matrix has exactly the bytes of the row-major one, so
/// weights are repacked in place and stay in one copy.
/// </summary>
internal static unsafe class Bf16Panels
{
    /// <summary>Rows of a full panel, and the row granularity of the last one.</summary>
    public const int PanelRows = 32, RowGroup = 16;

    public static int PaddedCols(int cols) => (cols + 1) & ~1;
    public static int PaddedRows(int rows) => (rows + RowGroup - 1) / RowGroup * RowGroup;
    public static int Steps(int cols) => PaddedCols(cols) / 2;
    public static int Count(int rows) => (rows + PanelRows - 1) / PanelRows;
    public static long Bytes(int rows, int cols) => (long)PaddedRows(rows) * PaddedCols(cols) * 2;

    /// <summary>Whether the packed matrix has the row-major matrix's size (no padding needed).</summary>
    public static bool FitsInPlace(int rows, int cols) => rows % RowGroup == 0 && cols % 2 == 0;

    /// <summary>Rows held by panel p (a multiple of 16; padding rows included).</summary>
    public static int Height(int rows, int p) => Math.Min(PanelRows, PaddedRows(rows) - p * PanelRows);

    /// <summary>Byte offset of panel p.</summary>
    public static long Offset(int cols, int p) => (long)p * PanelRows * PaddedCols(cols) * 2;

    /// <summary>Packs a row-major matrix (rows of <paramref name="cols"/> bf16 values) into <paramref name="dst"/>
    /// (<see cref="Bytes"/> long; must not overlap the source).</summary>
    public static void Pack(ushort* src, int rows, int cols, ushort* dst)
    {
        int panels = Count(rows);
        for (int p = 0; p < panels; p++) PackPanel(src + (long)p * PanelRows * cols, rows - p * PanelRows, cols, Height(rows, p), (uint*)((byte*)dst + Offset(cols, p)));
    }

    /// <summary>Packs a row-major matrix whose size equals its packed size, in place, one panel at a time.</summary>
    public static void PackInPlace(ushort* data, int rows, int cols)
    {
        if (!FitsInPlace(rows, cols)) throw new ArgumentException($"a [{rows}, {cols}] matrix cannot be packed in place");
        var panel = GC.AllocateUninitializedArray<ushort>(PanelRows * cols, pinned: true);
        fixed (ushort* copy = panel)
            for (int p = 0, panels = Count(rows); p < panels; p++)
            {
                int h = Height(rows, p);
                ushort* at = data + (long)p * PanelRows * cols; // the same place in both layouts: full panels before it
                Buffer.MemoryCopy(at, copy, (long)h * cols * 2, (long)h * cols * 2);
                PackPanel(copy, h, cols, h, (uint*)at);
            }
    }

    // realRows ≤ height rows of src are data; the rest of the panel and the odd-column pad are zeros. Blocks of 16
    // steps keep both the source lines and the destination in L1 (a plain loop strides one side by 128 bytes).
    private static void PackPanel(ushort* src, int realRows, int cols, int height, uint* dst)
    {
        int steps = Steps(cols), full = cols / 2;
        realRows = Math.Min(realRows, height);
        for (int s0 = 0; s0 < steps; s0 += 16)
        {
            int s1 = Math.Min(steps, s0 + 16);
            for (int j = 0; j < height; j++)
            {
                uint* d = dst + j;
                if (j >= realRows)
                {
                    for (int s = s0; s < s1; s++) d[(long)s * height] = 0;
                    continue;
                }
                uint* row = (uint*)(src + (long)j * cols); // pairs of bf16 (unaligned when cols is odd, which x86 allows)
                int last = Math.Min(s1, full);
                for (int s = s0; s < last; s++) d[(long)s * height] = row[s];
                if (last < s1) d[(long)full * height] = src[(long)j * cols + cols - 1]; // odd column count: (last, 0)
            }
        }
    }

    /// <summary>Row r's bf16 values, out of the packed layout.</summary>
    public static void ReadRow(ushort* packed, int rows, int cols, int r, ushort* dst)
    {
        int p = r / PanelRows, h = Height(rows, p);
        ushort* at = (ushort*)((byte*)packed + Offset(cols, p)) + 2 * (r % PanelRows);
        for (int c = 0; c < cols; c++) dst[c] = at[(long)(c >> 1) * 2 * h + (c & 1)];
    }

    /// <summary>Row r widened to f32, out of the packed layout (embedding lookups of a tied LM head).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void ReadRow(ushort* packed, int rows, int cols, int r, Span<float> dst)
    {
        if (dst.Length < cols) throw new ArgumentException($"a row of {cols} columns does not fit {dst.Length} floats");
        int p = r / PanelRows, h = Height(rows, p), pairs = cols / 2;
        uint* at = (uint*)((byte*)packed + Offset(cols, p)) + r % PanelRows;
        fixed (float* d = dst)
        {
            // a row's column pairs lie a panel step apart: each pair is one dword, widened half by half (bf16 → f32 moves
            // the 16 bits to the top, as Bf16.ToFloat does); one load per two columns and no bounds checks
            uint* o = (uint*)d;
            for (int s = 0; s < pairs; s++)
            {
                uint w = at[(long)s * h];
                o[2 * s] = w << 16;
                o[2 * s + 1] = w & 0xFFFF0000u;
            }
            if ((cols & 1) != 0) d[cols - 1] = Bf16.ToFloat((ushort)at[(long)pairs * h]);
        }
    }

    /// <summary>Writes row r's bf16 values into the packed layout.</summary>
    public static void WriteRow(ushort* packed, int rows, int cols, int r, ushort* src)
    {
        int p = r / PanelRows, h = Height(rows, p);
        ushort* at = (ushort*)((byte*)packed + Offset(cols, p)) + 2 * (r % PanelRows);
        for (int c = 0; c < cols; c++) at[(long)(c >> 1) * 2 * h + (c & 1)] = src[c];
    }
}
