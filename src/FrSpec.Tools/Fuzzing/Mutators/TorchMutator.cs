using System.Buffers.Binary;
using FrSpec.Formats.Torch;

namespace FrSpec.Fuzzing.Mutators;

/// <summary>
/// Structure-aware mutations of a torch.save archive at both of its layers. The pickle (data.pkl) is cut into opcodes
/// (with the argument sizes of pickle protocols 2–5), whose bytes, integer arguments and length prefixes are mutated,
/// deleted or repeated, or among which hostile sequences are inserted (os.system through GLOBAL + REDUCE, builtins.eval
/// through STACK_GLOBAL, memo references out of range, MARK floods, huge FRAMEs); the archive is then rebuilt as a valid
/// zip around it. Or the zip itself is damaged: central-directory and local-header fields set to boundary values,
/// storages truncated.
/// </summary>
public static class TorchMutator
{
    /// <summary>A mutated copy of the torch.save file <paramref name="archive"/> and what was done.</summary>
    public static (byte[] Bytes, string What) Mutate(byte[] archive, Random rng)
    {
        var entries = ReadEntries(archive, out string prefix);
        if (entries is null) return BinaryMutator.Mutate(archive, rng);
        int choice = rng.Next(10);
        if (choice < 6 && entries.TryGetValue("data.pkl", out var pkl))
        {
            var (mutated, what) = MutatePickle(pkl, rng);
            entries["data.pkl"] = mutated;
            return (WriteArchive(prefix, entries), "data.pkl: " + what);
        }
        if (choice < 8) return MutateZipFields(archive, rng);
        var storage = entries.Keys.Where(k => k.StartsWith("data/", StringComparison.Ordinal)).ToList();
        if (storage.Count == 0) return BinaryMutator.Mutate(archive, rng);
        string key = storage[rng.Next(storage.Count)];
        var bytes = entries[key];
        entries[key] = rng.Next(2) == 0 ? bytes[..rng.Next(bytes.Length + 1)] : [.. bytes, .. new byte[1 + rng.Next(64)]];
        return (WriteArchive(prefix, entries), $"storage {key} resized from {bytes.Length} to {entries[key].Length} bytes");
    }

    private static Dictionary<string, byte[]>? ReadEntries(byte[] archive, out string prefix)
    {
        prefix = "archive";
        string tmp = Path.Combine(Path.GetTempPath(), $"frspec-fuzz-{Environment.ProcessId}-{Guid.NewGuid():N}.pt");
        try
        {
            File.WriteAllBytes(tmp, archive);
            using var zip = new TorchZipReader(tmp);
            prefix = zip.Prefix;
            var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var name in zip.EntryNames)
                if (name.StartsWith(zip.Prefix + "/", StringComparison.Ordinal)) result[name[(zip.Prefix.Length + 1)..]] = zip.ReadEntry(name[(zip.Prefix.Length + 1)..]);
            return result;
        }
        catch (FrSpecException) { return null; }
        finally { File.Delete(tmp); }
    }

    private static byte[] WriteArchive(string prefix, Dictionary<string, byte[]> entries)
    {
        using var ms = new MemoryStream();
        var zip = new TorchZipWriter(ms, prefix);
        foreach (var (name, data) in entries.OrderBy(e => e.Key == "data.pkl" ? "" : e.Key, StringComparer.Ordinal)) zip.WriteRecord(name, data);
        zip.Finish();
        return ms.ToArray();
    }

    private enum Arg { None, Fixed, Len1, Len4, Len8, Line, TwoLines }

    private static (Arg Kind, int Size) ArgOf(byte op) => op switch
    {
        0x80 or (byte)'K' or (byte)'q' or (byte)'h' or 0x82 => (Arg.Fixed, 1),
        (byte)'M' or 0x83 => (Arg.Fixed, 2),
        (byte)'J' or (byte)'r' or (byte)'j' or 0x84 => (Arg.Fixed, 4),
        0x95 or (byte)'G' => (Arg.Fixed, 8),
        (byte)'U' or 0x8c or (byte)'C' or 0x8a => (Arg.Len1, 1),
        (byte)'T' or (byte)'X' or (byte)'B' or 0x8b => (Arg.Len4, 4),
        0x8d or 0x8e or 0x96 => (Arg.Len8, 8),
        (byte)'I' or (byte)'L' or (byte)'S' or (byte)'V' or (byte)'F' or (byte)'P' or (byte)'g' or (byte)'p' => (Arg.Line, 0),
        (byte)'c' or (byte)'i' => (Arg.TwoLines, 0),
        _ => (Arg.None, 0),
    };

    /// <summary>(offset, length) of every opcode with its argument, as far as the stream parses.</summary>
    private static List<(int At, int Length)> Opcodes(byte[] p)
    {
        var ops = new List<(int, int)>();
        int i = 0;
        while (i < p.Length)
        {
            int start = i;
            var (kind, size) = ArgOf(p[i++]);
            long n = kind switch
            {
                Arg.Fixed => size,
                Arg.Len1 when i < p.Length => 1 + p[i],
                Arg.Len4 when i + 4 <= p.Length => 4 + (long)BinaryPrimitives.ReadUInt32LittleEndian(p.AsSpan(i)),
                Arg.Len8 when i + 8 <= p.Length => 8 + (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(p.AsSpan(i)), int.MaxValue),
                Arg.Line => Math.Max(0, Array.IndexOf(p, (byte)'\n', i) + 1 - i),
                Arg.TwoLines => Math.Max(0, Array.IndexOf(p, (byte)'\n', Math.Max(i, Array.IndexOf(p, (byte)'\n', i) + 1)) + 1 - i),
                Arg.None => 0,
                _ => p.Length - i,
            };
            i = (int)Math.Min(p.Length, i + n);
            ops.Add((start, i - start));
        }
        return ops;
    }

    private static readonly byte[][] Hostile =
    [
        [(byte)'c', .. "os\nsystem\n"u8, (byte)'X', 4, 0, 0, 0, .. "true"u8, 0x85, (byte)'R'],   // os.system("true")
        [0x8c, 8, .. "builtins"u8, 0x8c, 4, .. "eval"u8, 0x93, 0x8c, 1, (byte)'1', 0x85, (byte)'R'],
        [(byte)'j', 0xFF, 0xFF, 0xFF, 0x7F],                       // LONG_BINGET of a memo id never stored
        [(byte)'r', 0xFF, 0xFF, 0xFF, 0xFF],                       // LONG_BINPUT with a huge id
        [0x95, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],   // FRAME claiming 2^63 bytes
        [0x8d, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],   // BINUNICODE8 claiming 2^63 bytes
        [.. Enumerable.Repeat((byte)'(', 100_000)],                 // MARK flood
        [.. Enumerable.Repeat((byte)']', 50_000)],                  // EMPTY_LIST flood
        [(byte)'0', (byte)'0', (byte)'0'],                          // POP on an empty stack
        [(byte)'t', (byte)'e', (byte)'u', (byte)'s', (byte)'b'],    // TUPLE/APPENDS/SETITEMS/SETITEM/BUILD without their operands
        [0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0x80],                    // LONG1 beyond 64 bits
        [(byte)'P', .. "0\n"u8],                                    // text PERSID
        [(byte)'Q'],                                                // BINPERSID with whatever is on the stack
        [(byte)'c', .. "torch._utils\n_rebuild_tensor_v2\n"u8],
        [(byte)'c', .. "collections\nOrderedDict\n"u8, (byte)')', (byte)'R'],
    ];

    private static (byte[] Bytes, string What) MutatePickle(byte[] pkl, Random rng)
    {
        var ops = Opcodes(pkl);
        if (ops.Count == 0) return BinaryMutator.Mutate(pkl, rng);
        var (at, length) = ops[rng.Next(ops.Count)];
        switch (rng.Next(7))
        {
            case 0:
            {
                byte op = (byte)rng.Next(256);
                var b = (byte[])pkl.Clone();
                b[at] = op;
                return (b, $"opcode at {at} replaced by 0x{op:X2}");
            }
            case 1 when length > 1:
            {
                var (kind, size) = ArgOf(pkl[at]);
                int width = kind is Arg.Len1 or Arg.Len4 or Arg.Len8 ? size : Math.Min(size, 8);
                if (width is not (1 or 2 or 4 or 8) || at + 1 + width > pkl.Length) goto default;
                ulong v = BinaryMutator.Boundary[rng.Next(BinaryMutator.Boundary.Length)];
                return (BinaryMutator.Patch(pkl, at + 1, width, v), $"argument of opcode 0x{pkl[at]:X2} at {at} set to {v}");
            }
            case 2:
                return ([.. pkl[..at], .. pkl[(at + length)..]], $"opcode 0x{pkl[at]:X2} at {at} deleted");
            case 3:
                return ([.. pkl[..(at + length)], .. pkl[at..(at + length)], .. pkl[(at + length)..]], $"opcode 0x{pkl[at]:X2} at {at} repeated");
            case 4:
            {
                var h = Hostile[rng.Next(Hostile.Length)];
                return ([.. pkl[..at], .. h, .. pkl[at..]], $"hostile sequence ({h.Length} bytes, starts 0x{h[0]:X2}) inserted at {at}");
            }
            case 5:
            {
                int cut = at + rng.Next(length + 1);
                return (pkl[..cut], $"pickle truncated to {cut} bytes");
            }
            default:
                var (bytes, what) = BinaryMutator.Mutate(pkl, rng);
                return (bytes, what);
        }
    }

    /// <summary>Boundary values in the fields of central-directory entries, local headers and the end record.</summary>
    private static (byte[] Bytes, string What) MutateZipFields(byte[] zip, Random rng)
    {
        var fields = new List<(string Name, int Offset, int Width)>();
        for (int i = 0; i + 46 <= zip.Length; i++)
        {
            uint sig = BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(i));
            if (sig == 0x02014b50)
            {
                fields.Add(($"central entry at {i}: method", i + 10, 2));
                fields.Add(($"central entry at {i}: compressed size", i + 20, 4));
                fields.Add(($"central entry at {i}: size", i + 24, 4));
                fields.Add(($"central entry at {i}: name length", i + 28, 2));
                fields.Add(($"central entry at {i}: extra length", i + 30, 2));
                fields.Add(($"central entry at {i}: local header offset", i + 42, 4));
            }
            else if (sig == 0x04034b50)
            {
                fields.Add(($"local header at {i}: name length", i + 26, 2));
                fields.Add(($"local header at {i}: extra length", i + 28, 2));
            }
        }
        for (int i = Math.Max(0, zip.Length - 22 - 1024); i + 22 <= zip.Length; i++)
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(i)) == 0x06054b50)
            {
                fields.Add(("end record: entry count", i + 10, 2));
                fields.Add(("end record: directory size", i + 12, 4));
                fields.Add(("end record: directory offset", i + 16, 4));
            }
        if (fields.Count == 0) return BinaryMutator.Mutate(zip, rng);
        var (name, offset, width) = fields[rng.Next(fields.Count)];
        ulong value = rng.Next(3) == 0
            ? BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(offset, 4)) + (ulong)rng.Next(-3, 4)
            : BinaryMutator.Boundary[rng.Next(BinaryMutator.Boundary.Length)];
        return (BinaryMutator.Patch(zip, offset, width, value), $"zip {name} set to {value & (width == 2 ? 0xFFFFUL : 0xFFFFFFFFUL)}");
    }
}
