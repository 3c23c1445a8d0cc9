using System.Buffers.Binary;

namespace FrSpec.Fuzzing.Mutators;

/// <summary>
/// Format-blind mutations of bytes: bit flips, bytes and little-endian integers (16, 32, 64 bits) set to boundary
/// values, truncation, inserted, deleted and repeated chunks. Format-aware mutators fall back to it and mix it in.
/// </summary>
public static class BinaryMutator
{
    /// <summary>Values that sit on the edges of the integer ranges a length, count or offset field may hold.</summary>
    public static readonly ulong[] Boundary =
    [
        0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 4095, 4096, 65535, 65536,
        int.MaxValue, 1UL << 31, uint.MaxValue, 1UL << 32, 1UL << 40, long.MaxValue, 1UL << 63, ulong.MaxValue,
    ];

    /// <summary>A mutated copy of <paramref name="data"/> (bytes in [<paramref name="from"/>, <paramref name="to"/>) preferred) and what was done.</summary>
    public static (byte[] Bytes, string What) Mutate(byte[] data, Random rng, int from = 0, int to = -1)
    {
        if (to < 0 || to > data.Length) to = data.Length;
        if (from >= to) { from = 0; to = data.Length; }
        if (data.Length == 0) return ([(byte)rng.Next(256)], "one random byte");
        int At() => from + rng.Next(Math.Max(1, to - from));
        switch (rng.Next(8))
        {
            case 0:
            {
                var b = (byte[])data.Clone();
                int flips = 1 + rng.Next(4);
                for (int k = 0; k < flips; k++) { int i = Math.Min(At(), b.Length - 1); b[i] ^= (byte)(1 << rng.Next(8)); }
                return (b, $"{flips} bit flips");
            }
            case 1:
            {
                var b = (byte[])data.Clone();
                int i = Math.Min(At(), b.Length - 1);
                b[i] = (byte)(rng.Next(4) switch { 0 => 0, 1 => 0xFF, 2 => 0x7F, _ => 0x80 });
                return (b, $"byte {i} set to {b[i]:X2}");
            }
            case 2:
            {
                int width = 2 << rng.Next(3);   // 2, 4 or 8
                int i = Math.Min(At(), Math.Max(0, data.Length - width));
                if (i + width > data.Length) goto case 0;
                ulong v = Boundary[rng.Next(Boundary.Length)];
                return (Patch(data, i, width, v), $"u{width * 8} at {i} set to {v}");
            }
            case 3:
            {
                int cut = rng.Next(2) == 0 ? At() : rng.Next(data.Length);
                return (data[..cut], $"truncated to {cut} bytes");
            }
            case 4:
            {
                int i = At(), n = 1 + rng.Next(16);
                var junk = new byte[n];
                rng.NextBytes(junk);
                return ([.. data[..Math.Min(i, data.Length)], .. junk, .. data[Math.Min(i, data.Length)..]], $"{n} random bytes inserted at {i}");
            }
            case 5:
            {
                int i = Math.Min(At(), data.Length - 1), n = 1 + rng.Next(Math.Min(64, data.Length - i));
                return ([.. data[..i], .. data[(i + n)..]], $"{n} bytes deleted at {i}");
            }
            case 6:
            {
                int i = Math.Min(At(), data.Length - 1), n = 1 + rng.Next(Math.Min(256, data.Length - i));
                return ([.. data[..(i + n)], .. data[i..]], $"{n} bytes repeated at {i}");
            }
            default:
            {
                var b = (byte[])data.Clone();
                int i = Math.Min(At(), b.Length - 1), n = 1 + rng.Next(Math.Min(32, b.Length - i));
                rng.NextBytes(b.AsSpan(i, n));
                return (b, $"{n} random bytes at {i}");
            }
        }
    }

    /// <summary>A copy of <paramref name="data"/> with the little-endian integer of <paramref name="width"/> bytes at <paramref name="offset"/> set.</summary>
    public static byte[] Patch(byte[] data, int offset, int width, ulong value)
    {
        var copy = (byte[])data.Clone();
        var span = copy.AsSpan(offset, width);
        switch (width)
        {
            case 1: span[0] = (byte)value; break;
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)value); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)value); break;
            default: BinaryPrimitives.WriteUInt64LittleEndian(span, value); break;
        }
        return copy;
    }
}
