using System.Buffers.Binary;
using Parquet.Meta;

namespace FrSpec.Formats.Corpus;

/// <summary>
/// Checks a parquet file's structure before Parquet.Net reads it, because that reader trusts it: a corrupt list length in
/// the footer can keep it looping for hours, and it allocates a buffer of the size a page header declares before finding
/// out that the bytes are not there, so one corrupt size field in a small file costs gigabytes.
/// <list type="bullet">
/// <item><see cref="CheckFooter"/>: the footer (a Thrift compact struct) is walked once with every list, map and binary
/// length bounded by the bytes that remain, nesting bounded;</item>
/// <item><see cref="CheckPages"/>: every page lies inside its column chunk, which lies inside the file, and no page claims
/// to decompress more than <see cref="MaxRatio"/> times its compressed size (plus 1 MiB).</item>
/// </list>
/// Page headers are Thrift compact structs too: only fields 2 (uncompressed size) and 3 (compressed size) are read.
/// </summary>
internal static class ParquetGuard
{
    /// <summary>Compression ratio beyond which a page counts as a bomb (text compresses 3–10×).</summary>
    public const int MaxRatio = 1000;

    /// <summary>Largest footer accepted (real ones are kilobytes to a few megabytes).</summary>
    private const int MaxFooterBytes = 64 << 20;

    /// <summary>Throws unless the file starts and ends with "PAR1" and holds a well-formed footer.</summary>
    public static void CheckFooter(Stream file, string path)
    {
        long length = file.Length;
        Span<byte> tail = stackalloc byte[8];
        if (length < 12) throw new FrSpecException($"{path}: {length} bytes is too short for a parquet file");
        file.Position = length - 8;
        file.ReadExactly(tail);
        if (!tail[4..].SequenceEqual("PAR1"u8)) throw new FrSpecException($"{path}: not a parquet file (no PAR1 at the end)");
        int footer = BinaryPrimitives.ReadInt32LittleEndian(tail);
        if (footer <= 0 || footer > MaxFooterBytes || footer > length - 12)
            throw new FrSpecException($"{path}: parquet footer length {footer} does not fit the file ({length} bytes)");
        var bytes = new byte[footer];
        file.Position = length - 8 - footer;
        file.ReadExactly(bytes);
        var reader = new CompactReader(bytes, path);
        try { reader.SkipStruct(); }
        catch (EndOfBufferException) { throw new FrSpecException($"{path}: the parquet footer is corrupt (it runs past its end)"); }
        file.Position = 0;
    }

    public static void CheckPages(Stream file, FileMetaData metadata, string path)
    {
        long length = file.Length;
        foreach (var (group, g) in (metadata.RowGroups ?? []).Select((r, i) => (r, i)))
            foreach (var chunk in group.Columns ?? [])
            {
                var m = chunk.MetaData ?? throw new FrSpecException($"{path}: row group {g}: a column chunk has no metadata");
                long start = m.DictionaryPageOffset is long d && d > 0 ? Math.Min(d, m.DataPageOffset) : m.DataPageOffset;
                long size = m.TotalCompressedSize;
                if (start < 4 || size < 0 || start > length || size > length - start)
                    throw new FrSpecException($"{path}: row group {g}: a column chunk ({size} bytes at {start}) lies outside the file ({length} bytes)");
                Pages(file, start, start + size, path, g);
            }
    }

    private static void Pages(Stream file, long pos, long end, string path, int group)
    {
        var header = new byte[4096];
        for (int page = 0; pos < end; page++)
        {
            if (page > 1_000_000) throw new FrSpecException($"{path}: row group {group}: more than a million pages in one column chunk");
            long uncompressed, compressed;
            int headerLength;
            while (true)
            {
                // Headers carry statistics (min/max values): usually short, so read a little and more only when needed.
                file.Position = pos;
                int n = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
                var reader = new CompactReader(header.AsSpan(0, n), path);
                try
                {
                    (uncompressed, compressed) = reader.PageSizes();
                    headerLength = reader.Position;
                    break;
                }
                catch (EndOfBufferException) when (n == header.Length && header.Length < MaxHeaderBytes) { header = new byte[header.Length * 16]; }
                catch (EndOfBufferException) { throw new FrSpecException($"{path}: row group {group}: page {page} has a corrupt or oversized header"); }
            }
            long body = pos + headerLength;
            if (compressed < 0 || uncompressed < 0 || compressed > end - body)
                throw new FrSpecException($"{path}: row group {group}: page {page} claims {compressed} bytes, but its column chunk has {end - body} left");
            if (uncompressed > (long)MaxRatio * compressed + (1 << 20))
                throw new FrSpecException($"{path}: row group {group}: page {page} claims to decompress {compressed} bytes into {uncompressed} (a decompression bomb?)");
            pos = body + compressed;
        }
    }

    private const int MaxHeaderBytes = 16 << 20;

    private sealed class EndOfBufferException : Exception;

    /// <summary>Just enough of Thrift's compact protocol to read a page header's two size fields and skip the rest.</summary>
    private ref struct CompactReader(ReadOnlySpan<byte> data, string path)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        public int Position;

        private FrSpecException Corrupt() => new($"{path}: a parquet header or footer is corrupt");

        /// <summary>Skips one struct (fields up to STOP), checking every length against the bytes left.</summary>
        public void SkipStruct() => Skip(12, 0);

        private byte Byte() => Position < _data.Length ? _data[Position++] : throw new EndOfBufferException();

        private ulong Varint()
        {
            ulong v = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                byte b = Byte();
                v |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return v;
            }
            throw Corrupt();
        }

        private long ZigZag() { ulong v = Varint(); return (long)(v >> 1) ^ -(long)(v & 1); }

        public (long Uncompressed, long Compressed) PageSizes()
        {
            long uncompressed = -1, compressed = -1;
            short id = 0;
            while (true)
            {
                byte h = Byte();
                if (h == 0) break;
                int type = h & 0x0F, delta = h >> 4;
                id = delta != 0 ? (short)(id + delta) : (short)ZigZag();
                if (id == 2 && type == 5) uncompressed = ZigZag();
                else if (id == 3 && type == 5) compressed = ZigZag();
                else Skip(type, 0);
            }
            if (uncompressed < 0 || compressed < 0) throw Corrupt();
            return (uncompressed, compressed);
        }

        private void Skip(int type, int depth, bool element = false)
        {
            if (depth > 32) throw Corrupt();
            switch (type)
            {
                case 1: case 2: if (element) Byte(); return;  // a struct field's boolean lives in the type nibble, a list's takes a byte
                case 3: Byte(); return;
                case 4: case 5: case 6: Varint(); return;
                case 7: Position += 8; if (Position > _data.Length) throw new EndOfBufferException(); return;
                case 8:
                {
                    ulong n = Varint();
                    if (n > (ulong)(_data.Length - Position)) throw new EndOfBufferException();
                    Position += (int)n;
                    return;
                }
                case 9: case 10:
                {
                    byte h = Byte();
                    ulong n = (ulong)(h >> 4);
                    if (n == 15) n = Varint();
                    if (n > (ulong)(_data.Length - Position)) throw Corrupt();   // every element takes at least a byte
                    for (ulong i = 0; i < n; i++) Skip(h & 0x0F, depth + 1, element: true);
                    return;
                }
                case 11:
                {
                    ulong n = Varint();
                    if (n == 0) return;
                    if (n > (ulong)(_data.Length - Position)) throw Corrupt();
                    byte kv = Byte();
                    for (ulong i = 0; i < n; i++) { Skip(kv >> 4, depth + 1, element: true); Skip(kv & 0x0F, depth + 1, element: true); }
                    return;
                }
                case 12:
                {
                    short id = 0;
                    while (true)
                    {
                        byte h = Byte();
                        if (h == 0) return;
                        int delta = h >> 4;
                        id = delta != 0 ? (short)(id + delta) : (short)ZigZag();
                        Skip(h & 0x0F, depth + 1);
                    }
                }
                default: throw Corrupt();
            }
        }
    }
}
