using System.Text;

namespace FrSpec.Formats.Gguf;

/// <summary>
/// Writes a GGUF v3 file (llama.cpp's model format): magic "GGUF", version, tensor count, typed key/value metadata,
/// tensor infos (name, dims innermost-first, ggml type, offset), then the data section, every tensor starting at a
/// multiple of the alignment (32, or the value of general.alignment). Everything is little-endian.
/// Metadata and tensors are collected first; <see cref="Write"/> streams the tensor bytes from their producers, so a
/// multi-gigabyte model is never held in memory.
/// </summary>
public sealed class GgufWriter
{
    public const uint Magic = 0x46554747; // "GGUF" read as a little-endian uint32
    public const uint Version = 3;
    public const int DefaultAlignment = 32;
    public const string AlignmentKey = "general.alignment";

    private readonly List<(string Key, GgufValueType Type, Action<BinaryWriter> Value)> _metadata = new();
    private readonly List<GgufTensorSource> _tensors = new();
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);

    /// <summary>Alignment of tensor data (bytes).</summary>
    public int Alignment { get; private set; } = DefaultAlignment;

    public IReadOnlyList<GgufTensorSource> Tensors => _tensors;
    public IEnumerable<string> Keys => _metadata.Select(m => m.Key);

    public void AddString(string key, string value) => Add(key, GgufValueType.String, w => WriteString(w, value));
    public void AddUInt32(string key, uint value) => Add(key, GgufValueType.UInt32, w => w.Write(value));
    public void AddInt32(string key, int value) => Add(key, GgufValueType.Int32, w => w.Write(value));
    public void AddUInt64(string key, ulong value) => Add(key, GgufValueType.UInt64, w => w.Write(value));
    public void AddFloat32(string key, float value) => Add(key, GgufValueType.Float32, w => w.Write(value));
    public void AddFloat64(string key, double value) => Add(key, GgufValueType.Float64, w => w.Write(value));
    public void AddBool(string key, bool value) => Add(key, GgufValueType.Bool, w => w.Write((byte)(value ? 1 : 0)));

    /// <summary>Sets the data alignment and records it as general.alignment (a power of two, at least 8).</summary>
    public void SetAlignment(uint alignment)
    {
        if (alignment < 8 || (alignment & (alignment - 1)) != 0 || alignment > 1 << 20)
            throw new ArgumentOutOfRangeException(nameof(alignment), $"GGUF alignment must be a power of two in [8, 2^20], got {alignment}");
        AddUInt32(AlignmentKey, alignment);
        Alignment = (int)alignment;
    }

    public void AddStrings(string key, IReadOnlyList<string> values) => AddArray(key, GgufValueType.String, values.Count, w => { foreach (var s in values) WriteString(w, s); });
    public void AddInt32s(string key, IReadOnlyList<int> values) => AddArray(key, GgufValueType.Int32, values.Count, w => { foreach (var v in values) w.Write(v); });
    public void AddFloat32s(string key, IReadOnlyList<float> values) => AddArray(key, GgufValueType.Float32, values.Count, w => { foreach (var v in values) w.Write(v); });

    private void AddArray(string key, GgufValueType elementType, int count, Action<BinaryWriter> elements) =>
        Add(key, GgufValueType.Array, w => { w.Write((uint)elementType); w.Write((ulong)count); elements(w); });

    private void Add(string key, GgufValueType type, Action<BinaryWriter> value)
    {
        if (string.IsNullOrEmpty(key)) throw new ArgumentException("empty GGUF key");
        if (key == AlignmentKey && type != GgufValueType.UInt32) throw new ArgumentException($"{AlignmentKey} must be a uint32; use SetAlignment");
        if (!_keys.Add(key)) throw new ArgumentException($"GGUF key '{key}' added twice");
        _metadata.Add((key, type, value));
    }

    /// <summary>
    /// Adds a tensor. <paramref name="shape"/> is row-major, outermost first (as in safetensors/PyTorch: [rows, cols]);
    /// the file stores it reversed (ggml's ne[0] = the contiguous dimension). <paramref name="writeData"/> must write exactly
    /// the tensor's bytes.
    /// </summary>
    public void AddTensor(string name, GgmlType type, long[] shape, Action<Stream> writeData)
    {
        if (string.IsNullOrEmpty(name) || Encoding.UTF8.GetByteCount(name) >= 64)
            throw new ArgumentException($"GGUF tensor name '{name}' must be 1..63 bytes (ggml's limit)");
        if (shape.Length is < 1 or > 4 || shape.Any(d => d <= 0)) throw new ArgumentException($"tensor '{name}': shape [{string.Join(", ", shape)}] must have 1..4 positive dims");
        if (!_tensorNames.Add(name)) throw new ArgumentException($"GGUF tensor '{name}' added twice");
        _tensors.Add(new GgufTensorSource(name, type, (long[])shape.Clone(), writeData));
    }

    /// <summary>
    /// Writes the file to a temporary name beside it, renamed at the end so a reader never sees a partial file
    /// (<see cref="AtomicFile"/>). Without <paramref name="overwrite"/>, an existing file (even one that appeared meanwhile)
    /// is an error and stays untouched.
    /// </summary>
    public void Write(string path, bool overwrite = true) => AtomicFile.Write(path, WriteTo, overwrite);

    /// <summary>Writes the whole file to a stream (forward-only is fine).</summary>
    public void WriteTo(Stream stream)
    {
        var output = new CountingStream(stream);
        using (var w = new BinaryWriter(output, new UTF8Encoding(false), leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(Version);
            w.Write((ulong)_tensors.Count);
            w.Write((ulong)_metadata.Count);
            foreach (var (key, type, value) in _metadata)
            {
                WriteString(w, key);
                w.Write((uint)type);
                value(w);
            }
            long offset = 0;
            foreach (var t in _tensors)
            {
                WriteString(w, t.Name);
                w.Write((uint)t.Shape.Length);
                for (int d = t.Shape.Length - 1; d >= 0; d--) w.Write((ulong)t.Shape[d]);
                w.Write((uint)t.Type);
                w.Write((ulong)offset);
                offset = Align(offset + t.ByteCount);
            }
        }
        Pad(output);
        foreach (var t in _tensors)
        {
            long before = output.Count;
            t.WriteData(output);
            if (output.Count - before != t.ByteCount)
                throw new InvalidOperationException($"tensor '{t.Name}': producer wrote {output.Count - before} bytes, expected {t.ByteCount}");
            Pad(output);
        }
        output.Flush();
    }

    private long Align(long x) => (x + Alignment - 1) / Alignment * Alignment;

    /// <summary>Writes zero bytes up to the next multiple of the alignment.</summary>
    private void Pad(CountingStream s)
    {
        long target = Align(s.Count);
        if (target > s.Count) s.Write(new byte[target - s.Count]);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }
}
