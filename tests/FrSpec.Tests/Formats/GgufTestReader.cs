using System.Text;

namespace FrSpec.Tests.Formats;

/// <summary>
/// A minimal GGUF v3 reader written from the format description, independent of the writer: header, typed metadata,
/// tensor infos, and each tensor's bytes at data start + offset.
/// </summary>
public sealed class GgufTestReader
{
    public sealed record TensorInfo(string Name, ulong[] Dims, uint Type, ulong Offset);

    public uint Version { get; }
    public Dictionary<string, object> Metadata { get; } = new();
    public Dictionary<string, uint> MetadataTypes { get; } = new();
    public List<TensorInfo> Tensors { get; } = new();
    public long DataStart { get; }
    public int Alignment { get; }
    private readonly byte[] _bytes;

    public GgufTestReader(string path)
    {
        _bytes = File.ReadAllBytes(path);
        using var r = new BinaryReader(new MemoryStream(_bytes), Encoding.UTF8);
        Assert.Equal("GGUF", Encoding.ASCII.GetString(r.ReadBytes(4)));
        Version = r.ReadUInt32();
        ulong tensorCount = r.ReadUInt64(), kvCount = r.ReadUInt64();
        for (ulong i = 0; i < kvCount; i++)
        {
            string key = Str(r);
            uint type = r.ReadUInt32();
            MetadataTypes[key] = type;
            Metadata[key] = Value(r, type);
        }
        for (ulong i = 0; i < tensorCount; i++)
        {
            string name = Str(r);
            uint nd = r.ReadUInt32();
            var dims = new ulong[nd];
            for (int d = 0; d < nd; d++) dims[d] = r.ReadUInt64();
            Tensors.Add(new TensorInfo(name, dims, r.ReadUInt32(), r.ReadUInt64()));
        }
        Alignment = Metadata.TryGetValue("general.alignment", out var a) ? (int)(uint)a : 32;
        long pos = r.BaseStream.Position;
        DataStart = (pos + Alignment - 1) / Alignment * Alignment;
    }

    public TensorInfo Tensor(string name) => Tensors.Single(t => t.Name == name);

    public static int ElementSize(uint ggmlType) => ggmlType switch { 0 => 4, 1 => 2, 30 => 2, _ => throw new InvalidDataException($"type {ggmlType}") };

    public byte[] Data(string name)
    {
        var t = Tensor(name);
        long n = t.Dims.Aggregate(1L, (x, d) => x * (long)d) * ElementSize(t.Type);
        return _bytes.AsSpan((int)(DataStart + (long)t.Offset), (int)n).ToArray();
    }

    public float[] Floats(string name)
    {
        Assert.Equal(0u, Tensor(name).Type);
        var b = Data(name);
        var f = new float[b.Length / 4];
        Buffer.BlockCopy(b, 0, f, 0, b.Length);
        return f;
    }

    public long FileLength => _bytes.Length;

    private static string Str(BinaryReader r)
    {
        ulong n = r.ReadUInt64();
        return Encoding.UTF8.GetString(r.ReadBytes(checked((int)n)));
    }

    private static object Value(BinaryReader r, uint type) => type switch
    {
        0 => r.ReadByte(),
        1 => r.ReadSByte(),
        2 => r.ReadUInt16(),
        3 => r.ReadInt16(),
        4 => r.ReadUInt32(),
        5 => r.ReadInt32(),
        6 => r.ReadSingle(),
        7 => r.ReadByte() != 0,
        8 => Str(r),
        9 => Array(r),
        10 => r.ReadUInt64(),
        11 => r.ReadInt64(),
        12 => r.ReadDouble(),
        _ => throw new InvalidDataException($"unknown GGUF value type {type}"),
    };

    private static object[] Array(BinaryReader r)
    {
        uint et = r.ReadUInt32();
        ulong n = r.ReadUInt64();
        var a = new object[n];
        for (ulong i = 0; i < n; i++) a[i] = Value(r, et);
        return a;
    }
}
