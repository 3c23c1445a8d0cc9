using System.Runtime.InteropServices;

namespace FrSpec.Numerics;

/// <summary>
/// A row-major [Rows, Cols] weight matrix in f32, f16 or bf16, stored in unmanaged memory: usually a view into a
/// memory-mapped safetensors file (weights used in place), or memory this object owns (gathered LM-head rows,
/// synthesized or trained weights). A Linear layer's weight is [out, in], so y = x·Wᵀ.
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

    public long ByteCount => Rows * DTypeInfo.RowBytes(Type, Cols);
    public int RowBytes => checked((int)DTypeInfo.RowBytes(Type, Cols));

    /// <summary>Allocates an owned, 64-byte aligned matrix (zeroed).</summary>
    public static WeightMatrix Allocate(DType type, int rows, int cols)
    {
        nuint bytes = (nuint)(rows * DTypeInfo.RowBytes(type, cols));
        void* p = NativeMemory.AlignedAlloc(Math.Max(bytes, 64), 64);
        NativeMemory.Clear(p, bytes);
        return new WeightMatrix(type, rows, cols, (nint)p, owned: true);
    }

    /// <summary>An owned matrix made of the given rows of this one, in that order (FR-Spec's draft LM head).</summary>
    public WeightMatrix GatherRows(ReadOnlySpan<int> rows)
    {
        var m = Allocate(Type, rows.Length, Cols);
        int rb = RowBytes;
        for (int i = 0; i < rows.Length; i++)
        {
            int r = rows[i];
            if ((uint)r >= (uint)Rows) throw new FrSpecException($"row {r} is outside the matrix of {Rows} rows");
            Buffer.MemoryCopy((byte*)Data + (long)r * rb, (byte*)m.Data + (long)i * rb, rb, rb);
        }
        return m;
    }

    /// <summary>Row r converted to f32 (reference paths, embedding lookup).</summary>
    public void ReadRow(int r, Span<float> dst)
    {
        if ((uint)r >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(r), $"row {r} of {Rows}");
        Convert.ToFloat(Type, (byte*)Data + (long)r * RowBytes, dst[..Cols]);
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
        Convert.FromFloat(values, type, (byte*)m.Data);
        return m;
    }

    public void Dispose()
    {
        if (_owned && Data != 0) { NativeMemory.AlignedFree((void*)Data); Data = 0; }
    }
}
