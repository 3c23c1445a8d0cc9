using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace FrSpec.Formats;

/// <summary>
/// How every JSON input is parsed: bounded size and nesting, a UTF-8 byte-order mark tolerated, and the text checked to
/// be valid Unicode before parsing. System.Text.Json accepts invalid UTF-8 and escaped lone surrogates ("\uD800") at
/// parse time and fails only later, in GetString, with an exception that names neither file nor field; checking up front
/// turns both into one error naming the file and the byte offset.
/// </summary>
internal static class JsonInput
{
    /// <summary>Largest config-like JSON file read (real ones are kilobytes; tokenizer.json has its own limit).</summary>
    public const long MaxConfigBytes = 64L << 20;

    /// <summary>Nesting allowed in config files (tokenizer.json pre-tokenizer sequences need a little more than 64).</summary>
    public const int MaxDepth = 256;

    /// <summary>Reads and parses a JSON file of at most <paramref name="maxBytes"/> (<paramref name="what"/> names the kind of file in errors).</summary>
    public static JsonDocument ReadFile(string path, string what = "JSON file", long maxBytes = MaxConfigBytes, int maxDepth = MaxDepth) =>
        Parse(InputFile.ReadAll(path, maxBytes, what), path, maxDepth);

    /// <summary>Parses UTF-8 JSON; <paramref name="where"/> (a file, or "file:line") prefixes every error.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8, string where, int maxDepth = MaxDepth)
    {
        if (utf8.Span.StartsWith("\uFEFF"u8)) utf8 = utf8[3..];
        CheckUnicode(utf8.Span, where);
        try { return JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = maxDepth }); }
        catch (JsonException e) { throw new FrSpecException($"{where}: not valid JSON ({e.Message})"); }
    }

    /// <summary>Parses one line of a JSON-lines file (already decoded text).</summary>
    public static JsonDocument ParseLine(string line, string where, int maxDepth = MaxDepth) =>
        Parse(Encoding.UTF8.GetBytes(line), where, maxDepth);

    /// <summary>
    /// Throws when <paramref name="utf8"/> is not valid UTF-8 or holds a \u escape of an unpaired surrogate. The scan is
    /// lexical: backslashes occur only inside JSON strings, and "\\" is skipped as a unit.
    /// </summary>
    public static void CheckUnicode(ReadOnlySpan<byte> utf8, string where)
    {
        if (!Utf8.IsValid(utf8)) throw new FrSpecException($"{where}: invalid UTF-8 at byte {FirstInvalidUtf8(utf8)}");
        int i = utf8.IndexOf((byte)'\\');
        while (i >= 0 && i < utf8.Length)
        {
            if (i + 1 >= utf8.Length) return;   // a dangling backslash: the parser reports it
            if (utf8[i + 1] != (byte)'u') { i = Next(utf8, i + 2); continue; }
            int unit = Hex4(utf8, i + 2);
            if (unit is >= 0xD800 and <= 0xDBFF)
            {
                int low = i + 6 + 1 < utf8.Length && utf8[i + 6] == (byte)'\\' && utf8[i + 7] == (byte)'u' ? Hex4(utf8, i + 8) : -1;
                if (low is < 0xDC00 or > 0xDFFF)
                    throw new FrSpecException($"{where}: string escape at byte {i} is a lone high surrogate (\\u{unit:X4}), not a Unicode character");
                i = Next(utf8, i + 12);
                continue;
            }
            if (unit is >= 0xDC00 and <= 0xDFFF)
                throw new FrSpecException($"{where}: string escape at byte {i} is a lone low surrogate (\\u{unit:X4}), not a Unicode character");
            i = Next(utf8, i + 6);
        }
    }

    private static int Next(ReadOnlySpan<byte> s, int from)
    {
        if (from >= s.Length) return -1;
        int j = s[from..].IndexOf((byte)'\\');
        return j < 0 ? -1 : from + j;
    }

    /// <summary>The value of 4 hex digits at <paramref name="at"/>, or -1 (the parser reports malformed escapes).</summary>
    private static int Hex4(ReadOnlySpan<byte> s, int at)
    {
        if (at + 4 > s.Length) return -1;
        int v = 0;
        for (int k = 0; k < 4; k++)
        {
            int c = s[at + k], d = c is >= '0' and <= '9' ? c - '0' : (c | 0x20) is >= 'a' and <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
            if (d < 0) return -1;
            v = v * 16 + d;
        }
        return v;
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> s)
    {
        Span<char> buffer = stackalloc char[1024];
        int offset = 0;
        while (offset < s.Length)
        {
            var status = Utf8.ToUtf16(s[offset..], buffer, out int read, out _, replaceInvalidSequences: false, isFinalBlock: true);
            if (status == OperationStatus.InvalidData) return offset + read;
            offset += read;
            if (status == OperationStatus.Done) break;
        }
        return offset;
    }
}
