using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace FrSpec.Formats.Torch;

/// <summary>
/// Reads the ZIP container written by torch.save (torch ≥ 1.6): ZIP or ZIP64, STORED entries only.
/// Only the central directory is parsed up front; entry payloads are read on demand with bounds checked
/// against the file length, so bogus sizes produce an error instead of a huge allocation.
/// </summary>
internal sealed class TorchZipReader : IDisposable
{
    private const uint LocalHeaderSig = 0x04034b50;
    private const uint CentralHeaderSig = 0x02014b50;
    private const uint EndOfCentralDirSig = 0x06054b50;
    private const uint Zip64EndSig = 0x06064b50;
    private const uint Zip64LocatorSig = 0x07064b50;
    private const int MaxEntries = 10_000_000;

    private readonly SafeFileHandle _handle;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    private readonly record struct Entry(string Name, long LocalHeaderOffset, long Size, ushort Method);

    public string Path { get; }
    public long FileLength { get; }

    /// <summary>Archive folder shared by all entries ("archive", a file stem, ...), without the slash.</summary>
    public string Prefix { get; }

    public IEnumerable<string> EntryNames => _entries.Keys;

    public TorchZipReader(string path)
    {
        Path = path;
        try
        {
            _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (FileNotFoundException)
        {
            throw new FrSpecException($"{path}: file not found");
        }
        catch (DirectoryNotFoundException)
        {
            throw new FrSpecException($"{path}: file not found");
        }
        try
        {
            FileLength = RandomAccess.GetLength(_handle);
            CheckMagic();
            ReadCentralDirectory();
            Prefix = FindPrefix();
        }
        catch
        {
            _handle.Dispose();
            throw;
        }
    }

    public void Dispose() => _handle.Dispose();

    public bool Contains(string relativeName) => _entries.ContainsKey(Prefix + "/" + relativeName);

    public long EntrySize(string relativeName) => GetEntry(relativeName).Size;

    /// <summary>Reads a whole entry (name relative to the prefix, e.g. "data.pkl", "data/0").</summary>
    public byte[] ReadEntry(string relativeName, long maxSize = int.MaxValue - 64)
    {
        var e = GetEntry(relativeName);
        if (e.Size > maxSize)
            throw new FrSpecException($"{Path}: entry '{e.Name}' is {e.Size} bytes, more than the {maxSize} this reader accepts");
        long start = DataStart(e);
        var buffer = new byte[e.Size];
        ReadExactly(start, buffer, e.Name);
        return buffer;
    }

    private Entry GetEntry(string relativeName)
    {
        string full = Prefix + "/" + relativeName;
        if (!_entries.TryGetValue(full, out var e))
            throw new FrSpecException($"{Path}: entry '{full}' is missing from the torch zip archive");
        return e;
    }

    private long DataStart(Entry e)
    {
        Span<byte> h = stackalloc byte[30];
        ReadExactly(e.LocalHeaderOffset, h, e.Name);
        if (BinaryPrimitives.ReadUInt32LittleEndian(h) != LocalHeaderSig)
            throw new FrSpecException($"{Path}: entry '{e.Name}': bad local header signature at offset {e.LocalHeaderOffset} (corrupt file)");
        int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(h.Slice(26));
        int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(h.Slice(28));
        long start = e.LocalHeaderOffset + 30 + nameLen + extraLen;
        if (start > FileLength || e.Size > FileLength - start)
            throw new FrSpecException($"{Path}: entry '{e.Name}' ({e.Size} bytes at offset {start}) runs past the end of the file ({FileLength} bytes): file truncated or corrupt");
        return start;
    }

    private void ReadExactly(long offset, Span<byte> buffer, string what)
    {
        if (offset < 0 || offset > FileLength || buffer.Length > FileLength - offset)
            throw new FrSpecException($"{Path}: {what}: {buffer.Length} bytes at offset {offset} lie past the end of the file ({FileLength} bytes): file truncated or corrupt");
        int done = 0;
        while (done < buffer.Length)
        {
            int n = RandomAccess.Read(_handle, buffer.Slice(done), offset + done);
            if (n <= 0) throw new FrSpecException($"{Path}: {what}: unexpected end of file");
            done += n;
        }
    }

    private void CheckMagic()
    {
        if (FileLength < 4)
            throw new FrSpecException($"{Path}: file is {FileLength} bytes, too short to be a torch.save archive");
        Span<byte> m = stackalloc byte[4];
        ReadExactly(0, m, "header");
        if (BinaryPrimitives.ReadUInt32LittleEndian(m) == LocalHeaderSig) return;
        if (m[0] == 0x80 && m[1] <= 5)
            throw new FrSpecException($"{Path}: legacy (non-zip) torch.save format (torch < 1.6 or _use_new_zipfile_serialization=False) is not supported; re-save it with a recent torch: torch.save(torch.load(f), f)");
        throw new FrSpecException($"{Path}: not a torch.save zip archive (first bytes {Convert.ToHexString(m)}; expected 'PK\\x03\\x04')");
    }

    private void ReadCentralDirectory()
    {
        // The end-of-central-directory record is in the last 22 + 65535 (max comment) bytes.
        int tailLen = (int)Math.Min(FileLength, 22 + 65535);
        var tail = new byte[tailLen];
        ReadExactly(FileLength - tailLen, tail, "end of central directory");
        int eocd = -1;
        for (int i = tailLen - 22; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i)) == EndOfCentralDirSig) { eocd = i; break; }
        }
        if (eocd < 0)
            throw new FrSpecException($"{Path}: no ZIP end-of-central-directory record found: file truncated or corrupt");
        long eocdOffset = FileLength - tailLen + eocd;
        var e = tail.AsSpan(eocd);
        long count = BinaryPrimitives.ReadUInt16LittleEndian(e.Slice(10));
        long cdSize = BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(12));
        long cdOffset = BinaryPrimitives.ReadUInt32LittleEndian(e.Slice(16));

        if (eocdOffset >= 20)
        {
            Span<byte> loc = stackalloc byte[20];
            ReadExactly(eocdOffset - 20, loc, "zip64 locator");
            if (BinaryPrimitives.ReadUInt32LittleEndian(loc) == Zip64LocatorSig)
            {
                long z64 = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(loc.Slice(8)), long.MaxValue);
                Span<byte> rec = stackalloc byte[56];
                ReadExactly(z64, rec, "zip64 end of central directory");
                if (BinaryPrimitives.ReadUInt32LittleEndian(rec) != Zip64EndSig)
                    throw new FrSpecException($"{Path}: bad zip64 end-of-central-directory signature at offset {z64}: file corrupt");
                count = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(rec.Slice(32)), long.MaxValue);
                cdSize = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(rec.Slice(40)), long.MaxValue);
                cdOffset = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(rec.Slice(48)), long.MaxValue);
            }
        }
        if (count > MaxEntries || cdSize > FileLength || cdOffset > FileLength - cdSize || count * 46 > cdSize)
            throw new FrSpecException($"{Path}: ZIP central directory ({count} entries, {cdSize} bytes at {cdOffset}) does not fit in the file ({FileLength} bytes): file truncated or corrupt");

        var cd = new byte[cdSize];
        ReadExactly(cdOffset, cd, "central directory");
        int p = 0;
        for (long i = 0; i < count; i++)
        {
            if (p + 46 > cd.Length || BinaryPrimitives.ReadUInt32LittleEndian(cd.AsSpan(p)) != CentralHeaderSig)
                throw new FrSpecException($"{Path}: ZIP central directory entry {i} is corrupt");
            var h = cd.AsSpan(p);
            ushort method = BinaryPrimitives.ReadUInt16LittleEndian(h.Slice(10));
            long compSize = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(20));
            long size = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(24));
            int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(h.Slice(28));
            int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(h.Slice(30));
            int commentLen = BinaryPrimitives.ReadUInt16LittleEndian(h.Slice(32));
            long lho = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(42));
            if (p + 46 + nameLen + extraLen + commentLen > cd.Length)
                throw new FrSpecException($"{Path}: ZIP central directory entry {i} runs past the directory");
            string name = Encoding.UTF8.GetString(h.Slice(46, nameLen));
            var extra = h.Slice(46 + nameLen, extraLen);
            // ZIP64 extended information: only the fields that were 0xFFFFFFFF are present, in this order.
            for (int q = 0; q + 4 <= extra.Length;)
            {
                int id = BinaryPrimitives.ReadUInt16LittleEndian(extra.Slice(q));
                int len = BinaryPrimitives.ReadUInt16LittleEndian(extra.Slice(q + 2));
                if (q + 4 + len > extra.Length) break;
                if (id == 1)
                {
                    var z = extra.Slice(q + 4, len);
                    int r = 0;
                    if (size == uint.MaxValue) size = ReadZip64Field(z, ref r, name, "size");
                    if (compSize == uint.MaxValue) compSize = ReadZip64Field(z, ref r, name, "compressed size");
                    if (lho == uint.MaxValue) lho = ReadZip64Field(z, ref r, name, "header offset");
                }
                q += 4 + len;
            }
            if (method != 0)
                throw new FrSpecException($"{Path}: entry '{name}' is compressed (method {method}); torch.save archives store entries uncompressed");
            if (compSize != size)
                throw new FrSpecException($"{Path}: entry '{name}': stored size {compSize} differs from size {size}: file corrupt");
            if (lho > FileLength || size > FileLength)
                throw new FrSpecException($"{Path}: entry '{name}' ({size} bytes at {lho}) lies past the end of the file ({FileLength} bytes): file truncated or corrupt");
            _entries[name] = new Entry(name, lho, size, method);
            p += 46 + nameLen + extraLen + commentLen;
        }
    }

    private long ReadZip64Field(ReadOnlySpan<byte> z, ref int r, string name, string field)
    {
        if (r + 8 > z.Length) throw new FrSpecException($"{Path}: entry '{name}': zip64 extra field lacks {field}");
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(z.Slice(r));
        r += 8;
        return (long)Math.Min(v, long.MaxValue);
    }

    private string FindPrefix()
    {
        string? found = null;
        foreach (var name in _entries.Keys)
        {
            int slash = name.IndexOf('/');
            if (slash > 0 && name.AsSpan(slash + 1).SequenceEqual("data.pkl"))
            {
                if (found != null)
                    throw new FrSpecException($"{Path}: archive holds more than one data.pkl ('{found}/data.pkl', '{name}')");
                found = name.Substring(0, slash);
            }
        }
        return found ?? throw new FrSpecException($"{Path}: no '<prefix>/data.pkl' entry: not a torch.save archive");
    }
}
