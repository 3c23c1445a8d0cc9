using System.Text;
using System.Text.Json;

namespace FrSpec.Formats;

/// <summary>
/// Reads a JSON-lines file defensively: bounded size, strict UTF-8 (invalid bytes are an error naming the line, not
/// silent U+FFFD), every line parsed through <see cref="JsonInput"/> (valid Unicode, bounded nesting). Blank lines
/// are skipped. Errors name "file:line".
/// </summary>
internal static class JsonLines
{
    /// <summary>Each non-blank line's number and parsed document (disposed after the caller's loop body).</summary>
    public static IEnumerable<(int LineNo, JsonElement Root, string Where)> Read(string path, long maxBytes, string what)
    {
        long length = InputFile.Length(path);
        if (length > maxBytes) throw new FrSpecException($"{path}: {length:N0} bytes is too large for a {what} (limit {maxBytes:N0})");
        using var reader = new StreamReader(path, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: false);
        int lineNo = 0;
        while (true)
        {
            string? line;
            try { line = reader.ReadLine(); }
            catch (DecoderFallbackException) { throw new FrSpecException($"{path}:{lineNo + 1}: not UTF-8 text"); }
            if (line is null) yield break;
            lineNo++;
            if (lineNo == 1 && line.StartsWith('\uFEFF')) line = line[1..];
            if (string.IsNullOrWhiteSpace(line)) continue;
            string where = $"{path}:{lineNo}";
            using var doc = JsonInput.ParseLine(line, where);
            yield return (lineNo, doc.RootElement, where);
        }
    }
}
