namespace FrSpec.Formats.Gguf;

/// <summary>A tensor queued for a <see cref="GgufWriter"/>: its info and the producer of its bytes.</summary>
public sealed record GgufTensorSource(string Name, GgmlType Type, long[] Shape, Action<Stream> WriteData)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public long ByteCount => GgmlTypeInfo.ByteCount(Type, Shape);
}
