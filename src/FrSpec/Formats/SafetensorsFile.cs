using System.IO.MemoryMappedFiles;
using System.Text.Json;
using FrSpec.Numerics;

namespace FrSpec.Formats;

/// <summary>One tensor's entry in a safetensors header.</summary>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// A memory-mapped .safetensors file: u64 header length, JSON header, then the raw little-endian tensor bytes.
/// The header is validated (offsets tile the buffer, sizes match shapes) before any tensor is used, so a
/// truncated or inconsistent file fails with a message naming the file and tensor.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    public const long MaxHeaderBytes = 100_000_000;
    public string Path { get; }
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    private readonly MemoryMappedFile? _mmf;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private readonly long _dataStart;

    private SafetensorsFile(string path, Dictionary<string, SafetensorsEntry> entries, Dictionary<string, string> meta,
        MemoryMappedFile? mmf, MemoryMappedViewAccessor? view, byte* basePtr, long dataStart)
    {
        Path = path; Entries = entries; Metadata = meta; _mmf = mmf; _view = view; _base = basePtr; _dataStart = dataStart;
    }

    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new FrSpecException($"{path}: file not found");
        long length;
        byte[] headerBytes;
        using (var fs = File.OpenRead(path))   // follows a symbolic link (FileInfo.Length would be the link's own size)
        {
            length = fs.Length;
            if (length < 8) throw new FrSpecException($"{path}: truncated safetensors file ({length} bytes, no header length)");
            Span<byte> lenBuf = stackalloc byte[8];
            fs.ReadExactly(lenBuf);
            long n = BitConverter.ToInt64(lenBuf);
            if (n <= 0 || n > MaxHeaderBytes) throw new FrSpecException($"{path}: invalid safetensors header length {n}");
            if (8 + n > length) throw new FrSpecException($"{path}: truncated safetensors file (header says {n} bytes, file has {length - 8})");
            headerBytes = new byte[n];
            fs.ReadExactly(headerBytes);
        }
        long dataStart = 8 + headerBytes.Length;
        long dataLength = length - dataStart;
        var (entries, meta) = ParseHeader(path, headerBytes, dataLength);
        if (dataLength == 0) return new SafetensorsFile(path, entries, meta, null, null, null, dataStart);
        var mmf = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = mmf.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        p += view.PointerOffset;
        return new SafetensorsFile(path, entries, meta, mmf, view, p, dataStart);
    }

    private static (Dictionary<string, SafetensorsEntry>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataLength)
    {
        var entries = new Dictionary<string, SafetensorsEntry>();
        var meta = new Dictionary<string, string>();
        using (var doc = JsonInput.Parse(header, $"{path}: safetensors header"))
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new FrSpecException($"{path}: safetensors header is not a JSON object");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    if (p.Value.ValueKind == JsonValueKind.Object)
                        foreach (var m in p.Value.EnumerateObject()) meta[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : JsonFields.Describe(m.Value);
                    continue;
                }
                var v = p.Value;
                if (v.ValueKind != JsonValueKind.Object
                    || !v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String
                    || !v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array
                    || !v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
                    throw new FrSpecException($"{path}: tensor '{p.Name}': header entry needs dtype, shape and data_offsets");
                var shape = new long[sh.GetArrayLength()];
                int k = 0;
                foreach (var d in sh.EnumerateArray())
                {
                    if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0)
                        throw new FrSpecException($"{path}: tensor '{p.Name}': invalid shape {sh.GetRawText()}");
                    shape[k++] = dim;
                }
                if (off[0].ValueKind != JsonValueKind.Number || off[1].ValueKind != JsonValueKind.Number
                    || !off[0].TryGetInt64(out long b) || !off[1].TryGetInt64(out long e) || b < 0 || e < b)
                    throw new FrSpecException($"{path}: tensor '{p.Name}': invalid data_offsets {off.GetRawText()}");
                var entry = new SafetensorsEntry(p.Name, dt.GetString()!, shape, b, e);
                int size = ElementSize(entry.DType);
                long numel = ElementsOrMinusOne(shape, size);
                if (size > 0 && (numel < 0 || numel * size != e - b))
                    throw new FrSpecException($"{path}: tensor '{p.Name}': {e - b} bytes for shape [{string.Join(", ", shape)}] of {entry.DType} (expected {numel * size})");
                if (e > dataLength)
                    throw new FrSpecException($"{path}: tensor '{p.Name}': data ends at byte {e} but the file holds {dataLength} data bytes (truncated file?)");
                entries[p.Name] = entry;
            }
        }
        // offsets must tile the buffer without overlap
        long pos = 0;
        foreach (var en in entries.Values.OrderBy(x => x.Begin))
        {
            if (en.Begin < pos) throw new FrSpecException($"{path}: tensor '{en.Name}' overlaps the previous tensor");
            pos = en.End;
        }
        return (entries, meta);
    }

    /// <summary>Number of elements of a shape, or -1 when it (or its size in bytes) does not fit in 63 bits.</summary>
    private static long ElementsOrMinusOne(long[] shape, int elementSize)
    {
        if (Array.IndexOf(shape, 0L) >= 0) return 0;
        try
        {
            long n = 1;
            foreach (var d in shape) n = checked(n * d);
            _ = checked(n * Math.Max(1, elementSize));
            return n;
        }
        catch (OverflowException) { return -1; }
    }

    public static int ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "BOOL" or "U8" or "I8" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => 0,
    };

    public bool Contains(string name) => Entries.ContainsKey(name);

    /// <summary>Address of a tensor's bytes inside the mapping (valid while this file is open).</summary>
    public nint DataPointer(SafetensorsEntry e) => (nint)(_base + _dataStart + e.Begin);

    public ReadOnlySpan<byte> Bytes(SafetensorsEntry e) => new(_base + _dataStart + e.Begin, checked((int)(e.End - e.Begin)));

    public static DType ToDType(string path, SafetensorsEntry e) => e.DType switch
    {
        "F32" => DType.F32,
        "F16" => DType.F16,
        "BF16" => DType.BF16,
        _ => throw new FrSpecException($"{path}: tensor '{e.Name}' has unsupported dtype {e.DType} (supported: F32, F16, BF16)"),
    };

    public void Dispose()
    {
        if (_view != null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _mmf?.Dispose();
    }
}
