using System.Text.Json;

namespace FrSpec.Training;

/// <summary>Reads the "text" field of every line of JSON-lines corpus files, plain or zstd-compressed (*.zst).</summary>
public static class CorpusReader
{
    public static IEnumerable<string> ReadTexts(string path)
    {
        if (!File.Exists(path)) throw new FrSpecException($"{path}: corpus file not found");
        using var file = File.OpenRead(path);
        using Stream s = path.EndsWith(".zst", StringComparison.OrdinalIgnoreCase) ? new ZstdSharp.DecompressionStream(file) : file;
        using var reader = new StreamReader(s);
        int lineNo = 0;
        string? line;
        while ((line = ReadLine(reader, path)) != null)
        {
            lineNo++;
            if (line.Length == 0) continue;
            string? text;
            try
            {
                using var doc = JsonDocument.Parse(line);
                text = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String
                    ? t.GetString() : null;
            }
            catch (JsonException e) { throw new FrSpecException($"{path}: line {lineNo} is not valid JSON ({e.Message})"); }
            if (text == null) throw new FrSpecException($"{path}: line {lineNo} has no string field 'text'");
            yield return text;
        }
    }

    private static string? ReadLine(StreamReader r, string path)
    {
        try { return r.ReadLine(); }
        catch (ZstdSharp.ZstdException e) { throw new FrSpecException($"{path}: corrupt zstd data ({e.Message})"); }
    }
}
