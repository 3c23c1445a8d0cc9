using System.IO.MemoryMappedFiles;
using FrSpec.Numerics;

namespace FrSpec.Formats.Gguf;

/// <summary>
/// A memory-mapped GGUF file (llama.cpp's model format, versions 2 and 3, little-endian): typed metadata, tensor
/// infos, and tensor bytes used in place from the mapping.
///
/// The header comes from the internet, so it is parsed defensively: every read is bounds-checked against the mapping;
/// counts, array lengths and string lengths are checked against the bytes left in the file before anything is
/// allocated; tensor dimensions must be positive with a product that does not overflow; rows must hold whole blocks of
/// the tensor's type; offsets must be aligned (general.alignment, default 32), inside the file and not overlap; keys and
/// tensor names must be unique and valid UTF-8; unknown value or tensor types are named. Each failure is one
/// <see cref="FrSpecException"/> naming the file and the field or tensor.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    public const uint Magic = 0x46554747;          // "GGUF" read as a little-endian uint32
    public const int DefaultAlignment = 32;
    /// <summary>Longest string accepted anywhere in the header (chat templates are tens of KB; tokens a few bytes).</summary>
    public const long MaxStringBytes = 16 << 20;
    /// <summary>Most elements accepted in one metadata array (vocabularies are a few hundred thousand).</summary>
    public const long MaxArrayLength = 1 << 26;
    /// <summary>Most dimensions of a tensor (ggml's GGML_MAX_DIMS).</summary>
    public const int MaxDims = 4;
    /// <summary>Most metadata entries, and most tensors, accepted (real models have a few dozen keys and a few thousand tensors).</summary>
    public const int MaxEntries = 1 << 20;
    private const int HeaderBytes = 24;          // magic, version, tensor count, metadata count

    public string Path { get; }
    /// <summary>GGUF version (2 or 3).</summary>
    public uint Version { get; }
    /// <summary>Alignment of tensor data in bytes (general.alignment, default 32).</summary>
    public long Alignment { get; }
    public GgufMetadata Metadata { get; }
    /// <summary>Tensors in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    /// <summary>Absolute file offset of the data section.</summary>
    public long DataStart { get; }
    /// <summary>File length in bytes.</summary>
    public long Length { get; }

    private readonly Dictionary<string, GgufTensorInfo> _byName;
    private readonly MemoryMappedFile? _mmf;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _base;

    private GgufFile(string path, long length, MemoryMappedFile mmf, MemoryMappedViewAccessor view, byte* basePtr)
    {
        Path = path; Length = length; _mmf = mmf; _view = view; _base = basePtr;
        var c = new GgufCursor(path, basePtr, length);
        if (c.U32() != Magic) throw new FrSpecException($"{path}: not a GGUF file (the first 4 bytes are not \"GGUF\")");
        c.Field = "version";
        Version = c.U32();
        if (Version is not (2 or 3))
        {
            uint swapped = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(Version);
            throw new FrSpecException(swapped is 2 or 3
                ? $"{path}: a big-endian GGUF file; only little-endian files are supported"
                : $"{path}: GGUF version {Version} is not supported (versions 2 and 3 are)");
        }
        c.Field = "tensor count";
        ulong tensorCount = c.U64();
        c.Field = "metadata count";
        ulong kvCount = c.U64();
        // Each metadata entry takes at least 14 bytes (key length, a 1-byte key, type, a 1-byte value) and each tensor
        // info at least 33 (name length, a 1-byte name, dims count, one dim, type, offset): bigger counts cannot fit.
        if (kvCount > MaxEntries || kvCount > (ulong)(c.Remaining / 14)) throw c.Error($"{kvCount} metadata entries cannot fit in the {length}-byte file (or exceed {MaxEntries})");
        if (tensorCount > MaxEntries || tensorCount > (ulong)(c.Remaining / 33)) throw c.Error($"{tensorCount} tensors cannot fit in the {length}-byte file (or exceed {MaxEntries})");

        Metadata = ReadMetadata(c, path, (int)kvCount);
        Alignment = ReadAlignment(path, Metadata);

        var infos = new List<(string Name, GgmlType Type, long[] Shape, long Offset, long Bytes)>((int)tensorCount);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < (int)tensorCount; i++) infos.Add(ReadTensorInfo(c, i, names));

        DataStart = c.Aligned(Alignment);
        long dataLength = length - DataStart;
        if (infos.Count > 0 && dataLength < 0)
            throw new FrSpecException($"{path}: the data section would start at byte {DataStart}, past the end of the {length}-byte file");
        var tensors = new GgufTensorInfo[infos.Count];
        _byName = new Dictionary<string, GgufTensorInfo>(infos.Count, StringComparer.Ordinal);
        for (int i = 0; i < infos.Count; i++)
        {
            var (name, type, shape, offset, bytes) = infos[i];
            if (offset % Alignment != 0) throw new FrSpecException($"{path}: tensor '{name}': offset {offset} is not a multiple of the alignment {Alignment}");
            if (offset > dataLength || bytes > dataLength - offset)
                throw new FrSpecException($"{path}: tensor '{name}': its {bytes} bytes at data offset {offset} end past the end of the file ({dataLength} data bytes; truncated file?)");
            tensors[i] = new GgufTensorInfo(name, type, shape, offset, bytes);
            _byName[name] = tensors[i];
        }
        long end = 0;
        string? previous = null;
        foreach (var t in tensors.OrderBy(t => t.Offset))
        {
            if (t.Offset < end) throw new FrSpecException($"{path}: tensor '{t.Name}' overlaps tensor '{previous}'");
            end = t.Offset + t.ByteCount;
            previous = t.Name;
        }
        Tensors = tensors;
    }

    /// <summary>True when <paramref name="path"/> names a .gguf file (by extension), the dispatch rule of the loaders.</summary>
    public static bool IsGgufPath(string path) => path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) && File.Exists(path);

    /// <summary>Maps and validates a GGUF file.</summary>
    public static GgufFile Open(string path)
    {
        if (!BitConverter.IsLittleEndian) throw new FrSpecException("reading GGUF needs a little-endian host");
        if (!File.Exists(path)) throw new FrSpecException($"{path}: file not found");
        long length = InputFile.Length(path);   // of the file a link points to, not of the link
        if (length < HeaderBytes) throw new FrSpecException($"{path}: truncated GGUF file ({length} bytes, the header alone takes {HeaderBytes})");
        var mmf = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        byte* p = null;
        try
        {
            view = mmf.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            return new GgufFile(path, length, mmf, view, p + view.PointerOffset);
        }
        catch
        {
            if (p != null) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            mmf.Dispose();
            throw;
        }
    }

    /// <summary>True when the file has a tensor of this (GGUF) name.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The named tensor; an error naming the file and tensor when it is absent.</summary>
    public GgufTensorInfo Tensor(string name) =>
        _byName.TryGetValue(name, out var t) ? t : throw new FrSpecException($"{Path}: tensor '{name}' is missing");

    /// <summary>Address of a tensor's bytes inside the mapping (valid while this file is open).</summary>
    public nint DataPointer(GgufTensorInfo t)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        return (nint)(_base + DataStart + t.Offset);
    }

    private static GgufMetadata ReadMetadata(GgufCursor c, string path, int count)
    {
        var values = new Dictionary<string, (GgufValueType, object)>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            c.Field = $"metadata entry #{i} key";
            string key = Name(c);
            c.Field = $"metadata '{key}'";
            if (values.ContainsKey(key)) throw c.Error("duplicate key");
            uint type = c.U32();
            values[key] = ((GgufValueType)type, ReadValue(c, type));
        }
        return new GgufMetadata(path, values);
    }

    /// <summary>A key or tensor name: non-empty, without control characters (names appear in one-line error messages).</summary>
    private static string Name(GgufCursor c)
    {
        string name = c.String(MaxStringBytes);
        if (name.Length == 0) throw c.Error("empty name");
        foreach (char ch in name)
            if (char.IsControl(ch)) throw c.Error($"name contains control character U+{(int)ch:X4}");
        return name;
    }

    private static object ReadValue(GgufCursor c, uint type) => (GgufValueType)type switch
    {
        GgufValueType.UInt8 => c.U8(),
        GgufValueType.Int8 => c.Read<sbyte>(),
        GgufValueType.UInt16 => c.Read<ushort>(),
        GgufValueType.Int16 => c.Read<short>(),
        GgufValueType.UInt32 => c.U32(),
        GgufValueType.Int32 => c.Read<int>(),
        GgufValueType.Float32 => c.Read<float>(),
        GgufValueType.Bool => ReadBool(c),
        GgufValueType.String => c.String(MaxStringBytes),
        GgufValueType.Array => ReadArray(c),
        GgufValueType.UInt64 => c.U64(),
        GgufValueType.Int64 => c.Read<long>(),
        GgufValueType.Float64 => c.Read<double>(),
        _ => throw c.Error($"unknown value type {type}"),
    };

    private static bool ReadBool(GgufCursor c)
    {
        byte b = c.U8();
        return b <= 1 ? b == 1 : throw c.Error($"bool value {b} is neither 0 nor 1");
    }

    private static object ReadArray(GgufCursor c)
    {
        uint elementType = c.U32();
        ulong n = c.U64();
        int size = (GgufValueType)elementType switch
        {
            GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
            GgufValueType.UInt16 or GgufValueType.Int16 => 2,
            GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
            GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
            GgufValueType.String => 8,            // at least the length of each string
            GgufValueType.Array => throw c.Error("nested arrays are not supported"),
            _ => throw c.Error($"unknown array element type {elementType}"),
        };
        if (n > (ulong)MaxArrayLength) throw c.Error($"array of {n} elements exceeds the limit of {MaxArrayLength}");
        if (n * (ulong)size > (ulong)c.Remaining) throw c.Error($"array of {n} elements needs at least {n * (ulong)size} bytes, only {c.Remaining} bytes are left in the file");
        int count = (int)n;
        return (GgufValueType)elementType switch
        {
            GgufValueType.UInt8 => Fill<byte>(c, count),
            GgufValueType.Int8 => Fill<sbyte>(c, count),
            GgufValueType.UInt16 => Fill<ushort>(c, count),
            GgufValueType.Int16 => Fill<short>(c, count),
            GgufValueType.UInt32 => Fill<uint>(c, count),
            GgufValueType.Int32 => Fill<int>(c, count),
            GgufValueType.Float32 => Fill<float>(c, count),
            GgufValueType.UInt64 => Fill<ulong>(c, count),
            GgufValueType.Int64 => Fill<long>(c, count),
            GgufValueType.Float64 => Fill<double>(c, count),
            GgufValueType.Bool => FillBools(c, count),
            _ => FillStrings(c, count),
        };
    }

    private static T[] Fill<T>(GgufCursor c, int count) where T : unmanaged
    {
        var a = new T[count];
        for (int i = 0; i < count; i++) a[i] = c.Read<T>();
        return a;
    }

    private static bool[] FillBools(GgufCursor c, int count)
    {
        var a = new bool[count];
        for (int i = 0; i < count; i++) a[i] = ReadBool(c);
        return a;
    }

    private static string[] FillStrings(GgufCursor c, int count)
    {
        var a = new string[count];
        for (int i = 0; i < count; i++) a[i] = c.String(MaxStringBytes);
        return a;
    }

    private static long ReadAlignment(string path, GgufMetadata m)
    {
        const string key = "general.alignment";
        if (!m.Contains(key)) return DefaultAlignment;
        if (m.TypeOf(key) != GgufValueType.UInt32) throw new FrSpecException($"{path}: metadata '{key}' is {m.TypeOf(key)}, expected UInt32");
        long a = m.Integer(key)!.Value;
        if (a == 0 || (a & (a - 1)) != 0) throw new FrSpecException($"{path}: metadata '{key}' = {a} is not a power of two");
        return a;
    }

    private static (string, GgmlType, long[], long, long) ReadTensorInfo(GgufCursor c, int index, HashSet<string> names)
    {
        c.Field = $"tensor #{index} name";
        string name = Name(c);
        c.Field = $"tensor '{name}'";
        if (!names.Add(name)) throw c.Error("duplicate tensor name");
        uint nDims = c.U32();
        if (nDims is 0 or > MaxDims) throw c.Error($"{nDims} dimensions (1 to {MaxDims} are allowed)");
        var shape = new long[nDims];
        long elements = 1;
        for (int d = 0; d < nDims; d++)
        {
            ulong dim = c.U64();
            if (dim == 0 || dim > long.MaxValue) throw c.Error($"dimension {d} is {dim}");
            shape[nDims - 1 - d] = (long)dim;                 // the file lists the contiguous dimension first
            if ((long)dim > long.MaxValue / elements) throw c.Error($"shape [{string.Join(", ", shape)}] has more than 2^63 elements");
            elements *= (long)dim;
        }
        uint typeId = c.U32();
        if (!GgmlTypeInfo.IsSupported(typeId))
            throw c.Error($"tensor type {GgmlTypeInfo.Name(typeId)} ({typeId}) is not supported (supported: {string.Join(", ", Enum.GetNames<GgmlType>())})");
        var type = (GgmlType)typeId;
        long cols = shape[^1];
        int block = GgmlTypeInfo.BlockSize(type);
        if (cols % block != 0) throw c.Error($"rows of {cols} {type} weights are not a whole number of {block}-weight blocks");
        long rows = elements / cols, blocks = cols / block;
        int blockBytes = GgmlTypeInfo.BlockBytes(type);
        if (blocks > long.MaxValue / blockBytes || blocks * blockBytes > long.MaxValue / rows)
            throw c.Error($"shape [{string.Join(", ", shape)}] needs more than 2^63 bytes");
        long rowBytes = blocks * blockBytes;
        ulong offset = c.U64();
        if (offset > long.MaxValue) throw c.Error($"offset {offset} is out of range");
        return (name, type, shape, (long)offset, rows * rowBytes);
    }

    public void Dispose()
    {
        if (_base == null) return;
        _base = null;
        _view!.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _mmf!.Dispose();
    }
}
