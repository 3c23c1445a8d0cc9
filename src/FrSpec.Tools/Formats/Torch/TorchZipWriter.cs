using System.Buffers.Binary;
using System.Text;

namespace FrSpec.Formats.Torch;

/// <summary>
/// Writes the ZIP container exactly as torch 1.13's PyTorchStreamWriter (miniz) does: STORED entries,
/// local headers with zero time/date/CRC/sizes and flags 0x0808 (UTF-8 names + data descriptor),
/// an "FB" padding extra field aligning every payload to 64 bytes, a 16-byte data descriptor after each
/// payload, central directory entries without extras, then ZIP64 end record + locator + classic end record.
/// Entries of 4 GiB or more are not supported (torch would switch to ZIP64 extras).
/// </summary>
internal sealed class TorchZipWriter
{
    private const int Alignment = 64;
    private readonly Stream _out;
    private readonly string _prefix;
    private readonly List<(byte[] name, uint crc, uint size, long offset)> _records = new();
    private long _cursor;

    public TorchZipWriter(Stream output, string archiveName)
    {
        _out = output;
        _prefix = archiveName + "/";
    }

    public void WriteRecord(string name, ReadOnlySpan<byte> data)
    {
        if ((ulong)data.Length >= uint.MaxValue || _cursor >= uint.MaxValue)
            throw new FrSpecException($"torch zip writer: record '{name}' ({data.Length} bytes at offset {_cursor}) needs ZIP64 sizes, which are not supported");
        byte[] fullName = Encoding.UTF8.GetBytes(_prefix + name);
        long start = _cursor + 30 + fullName.Length + 4;
        int padding = (int)((Alignment - start % Alignment) % Alignment);
        uint crc = Crc32.Compute(data);

        Span<byte> h = stackalloc byte[30];
        h.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(h.Slice(4), 0); // version needed (miniz: 0 for stored)
        BinaryPrimitives.WriteUInt16LittleEndian(h.Slice(6), 0x0808);
        BinaryPrimitives.WriteUInt16LittleEndian(h.Slice(26), (ushort)fullName.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h.Slice(28), (ushort)(padding + 4));
        Write(h);
        Write(fullName);
        Span<byte> fb = stackalloc byte[4];
        fb[0] = (byte)'F';
        fb[1] = (byte)'B';
        BinaryPrimitives.WriteUInt16LittleEndian(fb.Slice(2), (ushort)padding);
        Write(fb);
        for (int i = 0; i < padding; i++) WriteByte((byte)'Z');
        Write(data);
        Span<byte> dd = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(dd, 0x08074b50);
        BinaryPrimitives.WriteUInt32LittleEndian(dd.Slice(4), crc);
        BinaryPrimitives.WriteUInt32LittleEndian(dd.Slice(8), (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(dd.Slice(12), (uint)data.Length);
        Write(dd);
        _records.Add((fullName, crc, (uint)data.Length, start - 30 - fullName.Length - 4));
    }

    /// <summary>Writes the "version" record ("3\n" for torch 1.13) and the central directory.</summary>
    public void Finish()
    {
        WriteRecord("version", "3\n"u8);
        long cdOffset = _cursor;
        Span<byte> c = stackalloc byte[46];
        foreach (var (name, crc, size, offset) in _records)
        {
            c.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(c, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(c.Slice(8), 0x0808);
            BinaryPrimitives.WriteUInt32LittleEndian(c.Slice(16), crc);
            BinaryPrimitives.WriteUInt32LittleEndian(c.Slice(20), size);
            BinaryPrimitives.WriteUInt32LittleEndian(c.Slice(24), size);
            BinaryPrimitives.WriteUInt16LittleEndian(c.Slice(28), (ushort)name.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(c.Slice(42), (uint)offset);
            Write(c);
            Write(name);
        }
        long cdSize = _cursor - cdOffset;
        long zip64End = _cursor;
        Span<byte> z = stackalloc byte[56];
        z.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(z, 0x06064b50);
        BinaryPrimitives.WriteUInt64LittleEndian(z.Slice(4), 44);
        BinaryPrimitives.WriteUInt16LittleEndian(z.Slice(12), 0x031e); // made by: unix, 3.0
        BinaryPrimitives.WriteUInt16LittleEndian(z.Slice(14), 0x002d); // needed: 4.5 (zip64)
        BinaryPrimitives.WriteUInt64LittleEndian(z.Slice(24), (ulong)_records.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(z.Slice(32), (ulong)_records.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(z.Slice(40), (ulong)cdSize);
        BinaryPrimitives.WriteUInt64LittleEndian(z.Slice(48), (ulong)cdOffset);
        Write(z);
        Span<byte> loc = stackalloc byte[20];
        loc.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(loc, 0x07064b50);
        BinaryPrimitives.WriteUInt64LittleEndian(loc.Slice(8), (ulong)zip64End);
        BinaryPrimitives.WriteUInt32LittleEndian(loc.Slice(16), 1);
        Write(loc);
        Span<byte> e = stackalloc byte[22];
        e.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(e, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(e.Slice(8), (ushort)Math.Min(_records.Count, 0xFFFF));
        BinaryPrimitives.WriteUInt16LittleEndian(e.Slice(10), (ushort)Math.Min(_records.Count, 0xFFFF));
        BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(12), (uint)cdSize);
        BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(16), (uint)cdOffset);
        Write(e);
        _out.Flush();
    }

    private void Write(ReadOnlySpan<byte> b)
    {
        _out.Write(b);
        _cursor += b.Length;
    }

    private void WriteByte(byte b)
    {
        _out.WriteByte(b);
        _cursor++;
    }
}
