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

    public override string ToString() => $"{Name} {Type} [{string.Join(", ", Shape)}]";
}
