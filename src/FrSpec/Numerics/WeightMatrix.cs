using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FrSpec.Numerics;

/// <summary>
/// A [Rows, Cols] weight matrix in unmanaged memory: usually a view into a memory-mapped safetensors file (weights used
/// in place), or memory this object owns (huge-page copies, gathered LM-head rows, synthesized or trained weights). A
/// Linear layer's weight is [out, in], so y = x·Wᵀ. f32, f16 and bf16 matrices are row-major; block-quantized ones are
/// stored in <see cref="Quantized.InterleavedLayout"/> (groups of 16 rows, the file's bytes rearranged for the int8
/// kernels), so <see cref="Data"/> + r·<see cref="RowBytes"/> addresses a row only for the float types.
/// </summary>
public sealed unsafe class WeightMatrix : IDisposable
{
    public DType Type { get; }
    public int Rows { get; }
    public int Cols { get; }
    /// <summary>Address of element [0,0].</summary>
    public nint Data { get; private set; }
    private readonly bool _owned;

    public WeightMatrix(DType type, int rows, int cols, nint data, bool owned = false)
    {
        DTypeInfo.RowBytes(type, cols); // a quantized row must hold whole blocks
        Type = type; Rows = rows; Cols = cols; Data = data; _owned = owned;
    }

    /// <summary>Bytes the matrix occupies (a quantized one: whole groups of 16 rows).</summary>
    public long ByteCount => ByteCountOf(Type, Rows, Cols);
    /// <summary>Bytes of one row in file layout (for the float types also the row stride in memory).</summary>
    public int RowBytes => checked((int)DTypeInfo.RowBytes(Type, Cols));

    public bool IsQuantized => DTypeInfo.IsQuantized(Type);

    public static long ByteCountOf(DType type, int rows, int cols) =>
        DTypeInfo.IsQuantized(type) ? Quantized.InterleavedLayout.MatrixBytes(type, rows, cols) : rows * DTypeInfo.RowBytes(type, cols);

    /// <summary>Allocates an owned, 64-byte aligned matrix (zeroed).</summary>
    public static WeightMatrix Allocate(DType type, int rows, int cols)
    {
        nuint bytes = (nuint)ByteCountOf(type, rows, cols);
        void* p = NativeMemory.AlignedAlloc(Math.Max(bytes, 64), 64);
        NativeMemory.Clear(p, bytes);
        return new WeightMatrix(type, rows, cols, (nint)p, owned: true);
    }

    /// <summary>
    /// Fills <paramref name="dst"/> (<see cref="ByteCountOf"/> bytes) with the matrix whose row r is file-layout row
    /// <paramref name="sourceRow"/>(r) at <paramref name="file"/>: a copy for the float types, the interleaved layout for
    /// quantized ones (rows reordered on the way where a file stores them permuted).
    /// </summary>
    public static WeightMatrix FromFileRows(DType type, int rows, int cols, byte* file, Func<int, int>? sourceRow, byte* dst)
    {
        long rb = DTypeInfo.RowBytes(type, cols);
        if (!DTypeInfo.IsQuantized(type))
            for (int r = 0; r < rows; r++) Buffer.MemoryCopy(file + (sourceRow?.Invoke(r) ?? r) * rb, dst + r * rb, rb, rb);
        else
        {
            long all = ByteCountOf(type, rows, cols), group = Quantized.InterleavedLayout.GroupBytes(type, cols);
            NativeMemory.Clear(dst + all - group, (nuint)group); // the last group's padding rows stay zero
            for (int r = 0; r < rows; r++) Quantized.InterleavedLayout.PackRow(type, cols, file + (sourceRow?.Invoke(r) ?? r) * rb, dst, r);
        }
        return new WeightMatrix(type, rows, cols, (nint)dst);
    }

    /// <summary>An owned matrix made of the given rows of this one, in that order (FR-Spec's draft LM head).</summary>
    public WeightMatrix GatherRows(ReadOnlySpan<int> rows)
    {
        var m = Allocate(Type, rows.Length, Cols);
        int rb = RowBytes;
        byte* row = IsQuantized ? FileRowBuffer(rb) : null;
        for (int i = 0; i < rows.Length; i++)
        {
            int r = rows[i];
            if ((uint)r >= (uint)Rows) throw new FrSpecException($"row {r} is outside the matrix of {Rows} rows");
            if (row == null) Buffer.MemoryCopy((byte*)Data + (long)r * rb, (byte*)m.Data + (long)i * rb, rb, rb);
            else
            {
                Quantized.InterleavedLayout.UnpackRow(Type, Cols, (byte*)Data, r, row);
                Quantized.InterleavedLayout.PackRow(Type, Cols, row, (byte*)m.Data, i);
            }
        }
        return m;
    }

    [ThreadStatic] private static byte[]? t_fileRow;

    /// <summary>A pinned per-thread scratch row of file-layout bytes.</summary>
    private static byte* FileRowBuffer(int bytes)
    {
        if (t_fileRow == null || t_fileRow.Length < bytes) t_fileRow = GC.AllocateUninitializedArray<byte>(Math.Max(bytes, 4096), pinned: true);
        return (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(t_fileRow));
    }

    /// <summary>Row r converted to f32 (reference paths, embedding lookup).</summary>
    public void ReadRow(int r, Span<float> dst)
    {
        if ((uint)r >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(r), $"row {r} of {Rows}");
        if (!IsQuantized)
        {
            Convert.ToFloat(Type, (byte*)Data + (long)r * RowBytes, dst[..Cols]);
            return;
        }
        byte* row = FileRowBuffer(RowBytes);
        Quantized.InterleavedLayout.UnpackRow(Type, Cols, (byte*)Data, r, row);
        Convert.ToFloat(Type, row, dst[..Cols]);
    }

    /// <summary>Row r in file layout (the bytes a GGUF stores for it).</summary>
    public void ReadFileRow(int r, Span<byte> dst)
    {
        if ((uint)r >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(r), $"row {r} of {Rows}");
        fixed (byte* d = dst[..RowBytes])
        {
            if (IsQuantized) Quantized.InterleavedLayout.UnpackRow(Type, Cols, (byte*)Data, r, d);
            else Buffer.MemoryCopy((byte*)Data + (long)r * RowBytes, d, RowBytes, RowBytes);
        }
    }

    /// <summary>Copies the whole matrix to a new f32 array (tests and training only: allocates Rows·Cols floats).</summary>
    public float[] ToFloatArray()
    {
        var a = new float[(long)Rows * Cols];
        for (int r = 0; r < Rows; r++) ReadRow(r, a.AsSpan(r * Cols, Cols));
        return a;
    }

    /// <summary>Builds an owned matrix from f32 values, converting to the given type.</summary>
    public static WeightMatrix FromFloats(ReadOnlySpan<float> values, int rows, int cols, DType type)
    {
        if (values.Length != (long)rows * cols) throw new ArgumentException("values length != rows*cols");
        var m = Allocate(type, rows, cols);
        if (!DTypeInfo.IsQuantized(type))
        {
            Convert.FromFloat(values, type, (byte*)m.Data);
            return m;
        }
        byte* row = FileRowBuffer(m.RowBytes);
        for (int r = 0; r < rows; r++)
        {
            Convert.FromFloat(values.Slice(r * cols, cols), type, row);
            Quantized.InterleavedLayout.PackRow(type, cols, row, (byte*)m.Data, r);
        }
        return m;
    }

    public void Dispose()
    {
        if (_owned && Data != 0) { NativeMemory.AlignedFree((void*)Data); Data = 0; }
    }
}
