using FrSpec.Numerics;

namespace FrSpec.Formats.Gguf;

/// <summary>
/// One tensor of a GGUF file, validated: <see cref="Shape"/> is outermost first ([rows, cols] as in safetensors; the
/// file stores it innermost first), <see cref="Offset"/> is relative to the start of the data section and aligned, and
/// the bytes lie inside the file.
/// </summary>
public sealed record GgufTensorInfo(string Name, GgmlType Type, long[] Shape, long Offset, long ByteCount)
{
    /// <summary>The engine's weight type for <see cref="Type"/>.</summary>
    public DType DType => GgmlTypeInfo.ToDType(Type);

    public long ElementCount
    {
        get { long n = 1; foreach (long d in Shape) n *= d; return n; }
    }

    /// <summary>Bytes of the tensor in the engine's layout: <see cref="ByteCount"/>, except for a type widened at load (Q5_0 as Q8_0).</summary>
    public long EngineByteCount => ElementCount / Shape[^1] * DTypeInfo.RowBytes(DType, Shape[^1]);

    public override string ToString() => $"{Name} {Type} [{string.Join(", ", Shape)}]";
}
