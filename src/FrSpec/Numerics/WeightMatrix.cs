using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FrSpec.Numerics;

/// <summary>How a matrix's elements are ordered in memory.</summary>
internal enum WeightLayout
{
    /// <summary>Row after row, as in safetensors and GGUF files.</summary>
    RowMajor,
    /// <summary>bf16 panels of up to 64 interleaved rows for the generated vdpbf16ps kernels (<see cref="Bf16Panels"/>).</summary>
    Bf16Panels,
    /// <summary>Block-quantized rows in groups of 16 for the int8 kernels (<see cref="Quantized.InterleavedLayout"/>):
    /// the file's bytes rearranged, always (a quantized matrix has no other layout in memory).</summary>
    QuantizedGroups,
}

/// <summary>
/// A [Rows, Cols] weight matrix in f32, f16, bf16 or a block-quantized type, stored in unmanaged memory: usually a
/// view into a memory-mapped file (weights used in place), a copy in huge pages, or memory this object owns (gathered
/// LM-head rows, synthesized or trained weights). A Linear layer's weight is [out, in], so y = x·Wᵀ. f32/f16/bf16 are
/// row-major, except that a model loaded for the generated bf16 kernels repacks its bf16 copies into panels (in place,
/// at load); block-quantized matrices are always in <see cref="Quantized.InterleavedLayout"/>, so <see cref="Data"/> +
/// r·<see cref="RowBytes"/> addresses a row only for the float types.
/// </summary>
public sealed unsafe class WeightMatrix : IDisposable
{
    public DType Type { get; }
    public int Rows { get; }
    public int Cols { get; }
    internal WeightLayout Layout { get; private set; }
    private nint _data;
    private readonly bool _owned;

    /// <summary>Start of the matrix: element [0,0] of a row-major matrix, the first group of a quantized one. A bf16
    /// matrix repacked for the generated kernels has no such address (read it with <see cref="ReadRow"/>, or load the
    /// model with <see cref="WeightMemory.Mapped"/>).</summary>
    public nint Data => Layout != WeightLayout.Bf16Panels ? _data
        : throw new InvalidOperationException("this bf16 matrix is packed into panels for the generated kernels: read it with ReadRow");

    /// <summary>Start of the matrix's memory in its layout (kernels).</summary>
    internal nint Address => _data;

    /// <summary>A matrix at <paramref name="data"/>: row-major for the float types, <see cref="Quantized.InterleavedLayout"/>
    /// for the block-quantized ones.</summary>
    public WeightMatrix(DType type, int rows, int cols, nint data, bool owned = false)
        : this(type, rows, cols, data, owned, DTypeInfo.IsQuantized(type) ? WeightLayout.QuantizedGroups : WeightLayout.RowMajor) { }

    private WeightMatrix(DType type, int rows, int cols, nint data, bool owned, WeightLayout layout)
    {
        DTypeInfo.RowBytes(type, cols); // a quantized row must hold whole blocks
        Type = type; Rows = rows; Cols = cols; _data = data; _owned = owned; Layout = layout;
    }

    /// <summary>Bytes of memory the matrix occupies (what one pass over it reads; a quantized one: whole groups of 16 rows).</summary>
    public long ByteCount => Layout == WeightLayout.Bf16Panels ? Bf16Panels.Bytes(Rows, Cols) : ByteCountOf(Type, Rows, Cols);
    /// <summary>Bytes of one row in file layout (for the row-major float types also the row stride in memory).</summary>
    public int RowBytes => checked((int)DTypeInfo.RowBytes(Type, Cols));

    public bool IsQuantized => DTypeInfo.IsQuantized(Type);

    private int _f16Finite; // 0: not scanned yet, 1: every element finite, 2: an infinity or NaN

    /// <summary>Whether this f16 matrix holds no infinity or NaN, scanned on first use (weights do not change once they
    /// are multiplied): the fused f16 kernels widen finite halves only (<see cref="ISimdLanes{TVec}.WidenF16"/>).</summary>
    internal bool F16IsFinite
    {
        get
        {
            if (Type != DType.F16 || Layout != WeightLayout.RowMajor) return false;
            if (_f16Finite == 0) Volatile.Write(ref _f16Finite, AllFiniteF16((ushort*)_data, (long)Rows * Cols) ? 1 : 2);
            return _f16Finite == 1;
        }
    }

    /// <summary>Bytes of a row-major or quantized matrix of this shape.</summary>
    public static long ByteCountOf(DType type, int rows, int cols) =>
        DTypeInfo.IsQuantized(type) ? Quantized.InterleavedLayout.MatrixBytes(type, rows, cols) : rows * DTypeInfo.RowBytes(type, cols);

    /// <summary>Whether <see cref="PackPanelsInPlace"/> can repack this matrix.</summary>
    internal bool CanPackPanelsInPlace => Type == DType.BF16 && Layout == WeightLayout.RowMajor && Bf16Panels.FitsInPlace(Rows, Cols);

    /// <summary>Repacks this bf16 matrix into panels in its own memory (which must be writable: an owned or huge-page
    /// copy, never a file mapping). Load time only, before the model is shared; a no-op if already packed.</summary>
    internal void PackPanelsInPlace()
    {
        if (Layout == WeightLayout.Bf16Panels) return;
        if (!CanPackPanelsInPlace) throw new InvalidOperationException($"a [{Rows}, {Cols}] {Type} matrix cannot be packed in place");
        Bf16Panels.PackInPlace((ushort*)_data, Rows, Cols);
        Layout = WeightLayout.Bf16Panels;
    }

    /// <summary>An owned copy of this bf16 matrix in panels (any shape: the last panel and odd columns are padded).</summary>
    internal WeightMatrix ToPanels()
    {
        if (Type != DType.BF16) throw new InvalidOperationException($"only bf16 matrices have a panel layout, not {Type}");
        var m = AllocatePanels(Rows, Cols);
        var row = new ushort[Cols];
        fixed (ushort* r = row)
            for (int i = 0; i < Rows; i++)
            {
                ReadRowBf16(i, r);
                Bf16Panels.WriteRow((ushort*)m._data, Rows, Cols, i, r);
            }
        return m;
    }

    private static WeightMatrix AllocatePanels(int rows, int cols)
    {
        nuint bytes = (nuint)Bf16Panels.Bytes(rows, cols);
        void* p = AllocateMemory(bytes);
        NativeMemory.Clear(p, bytes); // padding rows and columns are zeros
        return new WeightMatrix(DType.BF16, rows, cols, (nint)p, owned: true, WeightLayout.Bf16Panels);
    }

    /// <summary>Row r of a bf16 matrix, in either layout.</summary>
    private void ReadRowBf16(int r, ushort* dst)
    {
        if (Layout == WeightLayout.Bf16Panels) Bf16Panels.ReadRow((ushort*)_data, Rows, Cols, r, dst);
        else Buffer.MemoryCopy((byte*)_data + (long)r * RowBytes, dst, RowBytes, RowBytes);
    }

    /// <summary>Whether none of <paramref name="count"/> f16 values is an infinity or NaN (exponent field all ones).</summary>
    private static bool AllFiniteF16(ushort* p, long count)
    {
        long i = 0;
        var exponent = Vector256.Create((ushort)0x7C00);
        for (; i + 16 <= count; i += 16)
            if (Vector256.EqualsAny(Vector256.Load(p + i) & exponent, exponent)) return false;
        for (; i < count; i++)
            if ((p[i] & 0x7C00) == 0x7C00) return false;
        return true;
    }

    /// <summary>Allocates an owned, 64-byte aligned matrix (zeroed).</summary>
    public static WeightMatrix Allocate(DType type, int rows, int cols)
    {
        nuint bytes = (nuint)ByteCountOf(type, rows, cols);
        void* p = AllocateMemory(bytes);
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

    // large matrices (an FR-Spec head, an EAGLE layer) go into huge pages like a model's weights
    private static void* AllocateMemory(nuint bytes) =>
        bytes >= NativeBuffer.HugePageThreshold ? NativeBuffer.Allocate(bytes, hugePages: true, out _) : NativeMemory.AlignedAlloc(Math.Max(bytes, 64), 64);

    /// <summary>An owned matrix made of the given rows of this one, in that order and in this matrix's layout
    /// (FR-Spec's draft LM head).</summary>
    public WeightMatrix GatherRows(ReadOnlySpan<int> rows)
    {
        foreach (int r in rows)
            if ((uint)r >= (uint)Rows) throw new FrSpecException($"row {r} is outside the matrix of {Rows} rows");
        if (Layout == WeightLayout.Bf16Panels)
        {
            var packed = AllocatePanels(rows.Length, Cols);
            var row = new ushort[Cols];
            fixed (ushort* buffer = row)
                for (int i = 0; i < rows.Length; i++)
                {
                    ReadRowBf16(rows[i], buffer);
                    Bf16Panels.WriteRow((ushort*)packed._data, rows.Length, Cols, i, buffer);
                }
            return packed;
        }
        var m = Allocate(Type, rows.Length, Cols);
        int rb = RowBytes;
        if (!IsQuantized)
        {
            for (int i = 0; i < rows.Length; i++) Buffer.MemoryCopy((byte*)_data + (long)rows[i] * rb, (byte*)m._data + (long)i * rb, rb, rb);
            return m;
        }
        byte* fileRow = FileRowBuffer(rb);
        for (int i = 0; i < rows.Length; i++)
        {
            Quantized.InterleavedLayout.UnpackRow(Type, Cols, (byte*)_data, rows[i], fileRow);
            Quantized.InterleavedLayout.PackRow(Type, Cols, fileRow, (byte*)m._data, i);
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
        ReadRowUnchecked(r, dst[..Cols]);
    }

    /// <summary>Row r (in range) converted to f32, in either layout.</summary>
    internal void ReadRowUnchecked(int r, Span<float> dst)
    {
        if (Layout == WeightLayout.Bf16Panels)
        {
            Bf16Panels.ReadRow((ushort*)_data, Rows, Cols, r, dst);
            return;
        }
        if (Layout == WeightLayout.QuantizedGroups)
        {
            byte* fileRow = FileRowBuffer(RowBytes);
            Quantized.InterleavedLayout.UnpackRow(Type, Cols, (byte*)_data, r, fileRow);
            Convert.ToFloat(Type, fileRow, dst);
            return;
        }
        Convert.ToFloat(Type, (byte*)_data + (long)r * RowBytes, dst);
    }

    /// <summary>Row r in file layout (the bytes a GGUF stores for it).</summary>
    public void ReadFileRow(int r, Span<byte> dst)
    {
        if ((uint)r >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(r), $"row {r} of {Rows}");
        if (Layout == WeightLayout.Bf16Panels) throw new InvalidOperationException("this bf16 matrix is packed into panels: read it with ReadRow");
        fixed (byte* d = dst[..RowBytes])
        {
            if (IsQuantized) Quantized.InterleavedLayout.UnpackRow(Type, Cols, (byte*)_data, r, d);
            else Buffer.MemoryCopy((byte*)_data + (long)r * RowBytes, d, RowBytes, RowBytes);
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
            Convert.FromFloat(values, type, (byte*)m._data);
            return m;
        }
        byte* fileRow = FileRowBuffer(m.RowBytes);
        for (int r = 0; r < rows; r++)
        {
            Convert.FromFloat(values.Slice(r * cols, cols), type, fileRow);
            Quantized.InterleavedLayout.PackRow(type, cols, fileRow, (byte*)m._data, r);
        }
        return m;
    }

    public void Dispose()
    {
        if (_owned && _data != 0) { NativeMemory.AlignedFree((void*)_data); _data = 0; }
    }
}
