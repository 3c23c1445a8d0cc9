using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using FrSpec.Formats;
using FrSpec.Formats.Torch;

namespace FrSpec.Frequency;

/// <summary>
/// Token frequencies over a corpus for one tokenizer: one count per token id, plus totals and the tokenizer's
/// fingerprint. Stored in the compact binary format of docs/frequency.md (optionally gzip-compressed).
/// </summary>
public sealed class TokenCounts
{
    private static ReadOnlySpan<byte> Magic => "FRSPCNTS"u8;
    private const uint FormatVersion = 1;
    private const int MaxVocab = 1 << 24;

    /// <param name="counts">Count per token id (the array is kept, not copied).</param>
    /// <param name="documents">Documents counted.</param>
    /// <param name="tokenizerSha256">SHA-256 of the tokenizer.json bytes (32 bytes), or empty when unknown.</param>
    /// <param name="tokenizerName">Free-form description of the tokenizer (e.g. its path).</param>
    /// <param name="addSpecialTokens">Whether documents were encoded with add_special_tokens=True.</param>
    public TokenCounts(long[] counts, long documents, byte[]? tokenizerSha256 = null, string tokenizerName = "", bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (tokenizerSha256 is { Length: not 0 and not 32 }) throw new ArgumentException("fingerprint must be 32 bytes", nameof(tokenizerSha256));
        Counts = counts;
        Documents = documents;
        TokenizerSha256 = tokenizerSha256 ?? [];
        TokenizerName = tokenizerName;
        AddSpecialTokens = addSpecialTokens;
        long total = 0;
        foreach (var c in counts)
        {
            if (c < 0) throw new ArgumentException("negative count", nameof(counts));
            total = checked(total + c);
        }
        TotalTokens = total;
    }

    /// <summary>Count per token id; index = id.</summary>
    public long[] Counts { get; }

    public int VocabSize => Counts.Length;
    public long TotalTokens { get; }
    public long Documents { get; }

    /// <summary>SHA-256 of the tokenizer.json the counts were made with (empty when unknown).</summary>
    public byte[] TokenizerSha256 { get; }

    public string TokenizerName { get; }
    public bool AddSpecialTokens { get; }

    /// <summary>Hex SHA-256 of the tokenizer file, "" when unknown.</summary>
    public string TokenizerFingerprint => TokenizerSha256.Length == 0 ? "" : Convert.ToHexStringLower(TokenizerSha256);

    /// <summary>SHA-256 of a tokenizer file (tokenizer.json or the tokenizer.json inside a model directory).</summary>
    public static byte[] FingerprintOf(string tokenizerPath)
    {
        string file = Directory.Exists(tokenizerPath) ? Path.Combine(tokenizerPath, "tokenizer.json") : tokenizerPath;
        using var fs = File.OpenRead(file);
        return System.Security.Cryptography.SHA256.HashData(fs);
    }

    /// <summary>Writes the counts file; a path ending in ".gz" is gzip-compressed.</summary>
    public void Save(string path)
    {
        var name = Encoding.UTF8.GetBytes(TokenizerName);
        if (name.Length > ushort.MaxValue) name = name[..ushort.MaxValue];
        var buf = new byte[8 + 4 + 4 + 8 + 8 + 1 + 32 + 2 + name.Length + 8L * Counts.Length + 4];
        var s = buf.AsSpan();
        Magic.CopyTo(s);
        BinaryPrimitives.WriteUInt32LittleEndian(s.Slice(8), FormatVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(s.Slice(12), (uint)Counts.Length);
        BinaryPrimitives.WriteInt64LittleEndian(s.Slice(16), TotalTokens);
        BinaryPrimitives.WriteInt64LittleEndian(s.Slice(24), Documents);
        s[32] = (byte)(AddSpecialTokens ? 1 : 0);
        TokenizerSha256.CopyTo(s.Slice(33));
        BinaryPrimitives.WriteUInt16LittleEndian(s.Slice(65), (ushort)name.Length);
        name.CopyTo(s.Slice(67));
        int p = 67 + name.Length;
        foreach (var c in Counts) { BinaryPrimitives.WriteInt64LittleEndian(s.Slice(p), c); p += 8; }
        BinaryPrimitives.WriteUInt32LittleEndian(s.Slice(p), Crc32.Compute(s[..p]));

        AtomicFile.Write(path, fs =>
        {
            if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
            {
                using var gz = new GZipStream(fs, CompressionLevel.SmallestSize, leaveOpen: true);
                gz.Write(buf);
            }
            else fs.Write(buf);
        });
    }

    /// <summary>Reads a counts file (plain or gzip, detected from the content).</summary>
    public static TokenCounts Load(string path)
    {
        byte[] raw;
        try { raw = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new FrSpecException($"{path}: counts file not found"); }
        return Parse(raw, path);
    }

    /// <summary>Reads the bytes of a counts file (plain or gzip); <paramref name="path"/> names it in errors.</summary>
    public static TokenCounts Parse(byte[] raw, string path)
    {
        if (raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b)
        {
            try
            {
                using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
                using var ms = new MemoryStream();
                // Bounded copy: a counts file is at most ~128 MB (2^24 ids × 8 bytes).
                var chunk = new byte[1 << 16];
                int n;
                while ((n = gz.Read(chunk)) > 0)
                {
                    if (ms.Length + n > 67 + 65535 + 8L * MaxVocab + 4) throw new FrSpecException($"{path}: decompressed counts file is too large");
                    ms.Write(chunk, 0, n);
                }
                raw = ms.ToArray();
            }
            catch (InvalidDataException e) { throw new FrSpecException($"{path}: corrupt gzip data: {e.Message}"); }
        }
        var s = raw.AsSpan();
        if (s.Length < 71 || !s[..8].SequenceEqual(Magic))
            throw new FrSpecException($"{path}: not a FrSpec token counts file (bad magic; see docs/frequency.md)");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(s.Slice(8));
        if (version != FormatVersion) throw new FrSpecException($"{path}: counts format version {version} is not supported (expected {FormatVersion})");
        uint vocab = BinaryPrimitives.ReadUInt32LittleEndian(s.Slice(12));
        if (vocab > MaxVocab) throw new FrSpecException($"{path}: vocabulary size {vocab} is implausible");
        long total = BinaryPrimitives.ReadInt64LittleEndian(s.Slice(16));
        long docs = BinaryPrimitives.ReadInt64LittleEndian(s.Slice(24));
        bool special = (s[32] & 1) != 0;
        var sha = s.Slice(33, 32).ToArray();
        int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(s.Slice(65));
        long expectedLength = 67L + nameLen + 8L * vocab + 4;
        if (s.Length != expectedLength)
            throw new FrSpecException($"{path}: file is {s.Length} bytes but its header implies {expectedLength}: truncated or corrupt");
        int p = 67 + nameLen;
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(s.Slice(s.Length - 4));
        if (crc != Crc32.Compute(s[..^4])) throw new FrSpecException($"{path}: checksum mismatch: file corrupt");
        string name = Encoding.UTF8.GetString(s.Slice(67, nameLen));
        var counts = new long[vocab];
        for (int i = 0; i < counts.Length; i++, p += 8)
        {
            counts[i] = BinaryPrimitives.ReadInt64LittleEndian(s.Slice(p));
            if (counts[i] < 0) throw new FrSpecException($"{path}: the count of id {i} is negative ({counts[i]}): file corrupt");
        }
        if (docs < 0) throw new FrSpecException($"{path}: the document count is negative ({docs}): file corrupt");
        TokenCounts result;
        try { result = new TokenCounts(counts, docs, sha.All(b => b == 0) ? [] : sha, name, special); }
        catch (OverflowException) { throw new FrSpecException($"{path}: the counts add up to more than 2^63: file corrupt"); }
        if (result.TotalTokens != total) throw new FrSpecException($"{path}: counts sum to {result.TotalTokens}, header says {total}: file corrupt");
        return result;
    }

    /// <summary>Ids sorted by descending count, ties by ascending id (the FR-Spec ranking).</summary>
    public int[] Ranking() => Ranking(Counts);

    /// <summary>Ids sorted by descending count, ties by ascending id.</summary>
    public static int[] Ranking(ReadOnlySpan<long> counts)
    {
        var ids = new int[counts.Length];
        var keys = new long[counts.Length];
        for (int i = 0; i < ids.Length; i++) { ids[i] = i; keys[i] = -counts[i]; }
        // Stable by construction: key (−count) then id, since ids start in ascending order and
        // Array.Sort is unstable, break ties explicitly.
        Array.Sort(ids, (a, b) => keys[a] != keys[b] ? keys[a].CompareTo(keys[b]) : a.CompareTo(b));
        return ids;
    }
}
