using System.Text;
using System.Text.Json;
using FrSpec.Numerics;

namespace FrSpec.Formats;

/// <summary>
/// A tensor to write: name, safetensors dtype ("BF16", "F32", ...), shape, and a producer of its raw little-endian
/// bytes, called once when the tensor is written (so an 8B model is never held in memory whole).
/// </summary>
public sealed record TensorBlob(string Name, string DType, long[] Shape, Func<byte[]> Produce)
{
    public long ByteLength => Shape.Aggregate(1L, (a, b) => a * b) * SafetensorsFile.ElementSize(DType);

    public static string SafetensorsName(DType type) => type switch { Numerics.DType.F32 => "F32", Numerics.DType.F16 => "F16", _ => "BF16" };

    public static TensorBlob FromBytes(string name, string dtype, long[] shape, byte[] data) => new(name, dtype, shape, () => data);

    public static TensorBlob FromFloats(string name, long[] shape, float[] values, DType type) =>
        new(name, SafetensorsName(type), shape, () => Numerics.Convert.ToBytes(values, type));
}

/// <summary>Writes safetensors files: header JSON padded with spaces to an 8-byte boundary, tensors in the given order.</summary>
public static class SafetensorsWriter
{
    /// <summary>Writes the file whole or not at all (<see cref="AtomicFile"/>): an interrupted write leaves the previous file.</summary>
    public static void Write(string path, IReadOnlyList<TensorBlob> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        AtomicFile.Write(path, s => WriteTo(s, tensors, metadata));

    /// <summary>Writes the file's bytes to <paramref name="fs"/>.</summary>
    public static void WriteTo(Stream fs, IReadOnlyList<TensorBlob> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new StringBuilder("{");
        bool first = true;
        if (metadata != null && metadata.Count > 0)
        {
            header.Append("\"__metadata__\":").Append(JsonSerializer.Serialize(metadata));
            first = false;
        }
        long offset = 0;
        foreach (var t in tensors)
        {
            if (!first) header.Append(',');
            first = false;
            header.Append(JsonSerializer.Serialize(t.Name)).Append(":{\"dtype\":\"").Append(t.DType).Append("\",\"shape\":[")
                .Append(string.Join(",", t.Shape)).Append("],\"data_offsets\":[").Append(offset).Append(',').Append(offset + t.ByteLength).Append("]}");
            offset += t.ByteLength;
        }
        header.Append('}');
        var hb = Encoding.UTF8.GetBytes(header.ToString());
        int padded = (hb.Length + 7) / 8 * 8;
        fs.Write(BitConverter.GetBytes((long)padded));
        fs.Write(hb);
        for (int i = hb.Length; i < padded; i++) fs.WriteByte((byte)' ');
        foreach (var t in tensors)
        {
            var data = t.Produce();
            if (data.LongLength != t.ByteLength) throw new InvalidOperationException($"tensor '{t.Name}': produced {data.LongLength} bytes, shape needs {t.ByteLength}");
            fs.Write(data);
        }
    }

    /// <summary>
    /// Writes a model's tensors as model.safetensors, or as model-0000i-of-0000n.safetensors shards plus
    /// model.safetensors.index.json when they exceed maxShardBytes (HF's layout).
    /// </summary>
    public static void WriteModel(string dir, IReadOnlyList<TensorBlob> tensors, long maxShardBytes = 2L << 30)
    {
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        long total = tensors.Sum(t => t.ByteLength);
        if (total <= maxShardBytes)
        {
            Write(Path.Combine(dir, "model.safetensors"), tensors, meta);
            return;
        }
        var shards = new List<List<TensorBlob>> { new() };
        long size = 0;
        foreach (var t in tensors)
        {
            if (size > 0 && size + t.ByteLength > maxShardBytes) { shards.Add(new()); size = 0; }
            shards[^1].Add(t);
            size += t.ByteLength;
        }
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < shards.Count; i++)
        {
            string name = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            Write(Path.Combine(dir, name), shards[i], meta);
            foreach (var t in shards[i]) weightMap[t.Name] = name;
        }
        var index = new { metadata = new { total_size = total }, weight_map = weightMap };
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), JsonSerializer.Serialize(index, new JsonSerializerOptions { WriteIndented = true }));
    }
}
