using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace FrSpec.Formats.Torch;

/// <summary>
/// A dense, row-major, little-endian tensor read from or written to a torch.save file.
/// Views and strided tensors are materialised on read, so <see cref="Data"/> is always contiguous.
/// </summary>
public sealed class TorchTensor
{
    private readonly ReadOnlyMemory<byte> _data;
    private readonly long[] _shape;

    /// <summary>Wraps contiguous little-endian bytes; their length must equal numel × element size.</summary>
    public TorchTensor(TorchDType dtype, long[] shape, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long numel = NumElements(shape);
        if (numel * dtype.ElementSize() != data.Length)
            throw new ArgumentException($"data has {data.Length} bytes but shape [{string.Join(", ", shape)}] of {dtype} needs {numel * dtype.ElementSize()}");
        DType = dtype;
        _shape = (long[])shape.Clone();
        _data = data;
    }

    /// <summary>Element type.</summary>
    public TorchDType DType { get; }

    /// <summary>Dimensions (empty for a scalar). A copy: callers cannot alter the tensor.</summary>
    public long[] Shape => (long[])_shape.Clone();

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements (1 for a scalar).</summary>
    public long ElementCount => NumElements(_shape);

    /// <summary>The raw little-endian element bytes, row-major.</summary>
    public ReadOnlySpan<byte> Data => _data.Span;

    /// <summary>The raw bytes as memory (for zero-copy consumers).</summary>
    public ReadOnlyMemory<byte> Memory => _data;

    /// <summary>Elements converted to float (f32, f16, bf16, f64; integers and bool are converted by value).</summary>
    public float[] ToFloat32Array()
    {
        var span = _data.Span;
        long n = ElementCount;
        var result = new float[n];
        switch (DType)
        {
            case TorchDType.Float32:
                MemoryMarshal.Cast<byte, float>(span).CopyTo(result);
                if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian host");
                break;
            case TorchDType.Float16:
                for (int i = 0; i < result.Length; i++)
                    result[i] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(span.Slice(i * 2)));
                break;
            case TorchDType.BFloat16:
                for (int i = 0; i < result.Length; i++)
                    result[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(span.Slice(i * 2)) << 16);
                break;
            case TorchDType.Float64:
                for (int i = 0; i < result.Length; i++)
                    result[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(span.Slice(i * 8));
                break;
            default:
                var longs = ToInt64Array();
                for (int i = 0; i < result.Length; i++) result[i] = longs[i];
                break;
        }
        return result;
    }

    /// <summary>Elements converted to long (integer and bool types only).</summary>
    public long[] ToInt64Array()
    {
        var span = _data.Span;
        var result = new long[ElementCount];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = DType switch
            {
                TorchDType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(span.Slice(i * 8)),
                TorchDType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(span.Slice(i * 4)),
                TorchDType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(span.Slice(i * 2)),
                TorchDType.Int8 => (sbyte)span[i],
                TorchDType.UInt8 => span[i],
                TorchDType.Bool => span[i] != 0 ? 1 : 0,
                _ => throw new InvalidOperationException($"ToInt64Array: tensor is {DType}, not an integer type"),
            };
        }
        return result;
    }

    /// <summary>A float32 tensor holding a copy of <paramref name="values"/>.</summary>
    public static TorchTensor FromFloat32(ReadOnlySpan<float> values, params long[] shape) =>
        new(TorchDType.Float32, shape, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>A float16 tensor (values rounded to nearest half).</summary>
    public static TorchTensor FromFloat16(ReadOnlySpan<float> values, params long[] shape)
    {
        var bytes = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), BitConverter.HalfToUInt16Bits((Half)values[i]));
        return new TorchTensor(TorchDType.Float16, shape, bytes);
    }

    /// <summary>A bfloat16 tensor (round to nearest even, as torch's .to(torch.bfloat16) does; NaN stays NaN).</summary>
    public static TorchTensor FromBFloat16(ReadOnlySpan<float> values, params long[] shape)
    {
        var bytes = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), ToBFloat16Bits(values[i]));
        return new TorchTensor(TorchDType.BFloat16, shape, bytes);
    }

    /// <summary>An int64 tensor holding a copy of <paramref name="values"/>.</summary>
    public static TorchTensor FromInt64(ReadOnlySpan<long> values, params long[] shape) =>
        new(TorchDType.Int64, shape, MemoryMarshal.AsBytes(values).ToArray());

    internal static ushort ToBFloat16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    internal static long NumElements(IReadOnlyList<long> shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension {d}");
            n = checked(n * d);
        }
        return n;
    }

    /// <inheritdoc />
    public override string ToString() => $"{DType}[{string.Join(", ", _shape)}]";
}
