using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FrSpec.Numerics;

/// <summary>Bulk conversions between stored weight types and f32 (block-quantized types: whole blocks only).</summary>
public static unsafe class Convert
{
    public static void ToFloat(DType type, byte* src, Span<float> dst)
    {
        switch (type)
        {
            case DType.F32:
                new ReadOnlySpan<float>(src, dst.Length).CopyTo(dst);
                break;
            case DType.F16:
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(src, dst.Length), dst);
                break;
            case DType.BF16:
                Bf16ToFloat((ushort*)src, dst);
                break;
            case DType.Q4_0:
                Quantized.Q4_0.Dequantize(src, dst);
                break;
            case DType.Q4_K:
                Quantized.Q4_K.Dequantize(src, dst);
                break;
            case DType.Q6_K:
                Quantized.Q6_K.Dequantize(src, dst);
                break;
            case DType.Q8_0:
                Quantized.Q8_0.Dequantize(src, dst);
                break;
            default:
                throw new NotSupportedException($"converting {type} weights to f32 is not implemented yet");
        }
    }

    public static void Bf16ToFloat(ushort* src, Span<float> dst)
    {
        int n = dst.Length, i = 0;
        fixed (float* d = dst)
        {
            if (Avx2.IsSupported)
            {
                for (; i + 8 <= n; i += 8)
                {
                    var w = Avx2.ConvertToVector256Int32(src + i);
                    Avx.Store(d + i, Avx2.ShiftLeftLogical(w, 16).AsSingle());
                }
            }
            for (; i < n; i++) d[i] = Bf16.ToFloat(src[i]);
        }
    }

    public static void FromFloat(ReadOnlySpan<float> src, DType type, byte* dst)
    {
        switch (type)
        {
            case DType.F32:
                src.CopyTo(new Span<float>(dst, src.Length));
                break;
            case DType.F16:
                TensorPrimitives.ConvertToHalf(src, new Span<Half>(dst, src.Length));
                break;
            case DType.BF16:
                var d = (ushort*)dst;
                for (int i = 0; i < src.Length; i++) d[i] = Bf16.FromFloat(src[i]);
                break;
            case DType.Q4_0:
                Quantized.Q4_0.Quantize(src, dst);
                break;
            case DType.Q4_K:
                Quantized.Q4_K.Quantize(src, dst);
                break;
            case DType.Q6_K:
                Quantized.Q6_K.Quantize(src, dst);
                break;
            case DType.Q8_0:
                Quantized.Q8_0.Quantize(src, new Span<byte>(dst, (int)DTypeInfo.RowBytes(DType.Q8_0, src.Length)));
                break;
            default:
                throw new NotSupportedException($"converting f32 to {type} is not implemented yet");
        }
    }

    /// <summary>Bytes of an f32 array converted to the given type (for writing files).</summary>
    public static byte[] ToBytes(ReadOnlySpan<float> src, DType type)
    {
        var bytes = new byte[DTypeInfo.RowBytes(type, src.Length)];
        fixed (byte* p = bytes) FromFloat(src, type, p);
        return bytes;
    }
}
