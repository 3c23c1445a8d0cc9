using System.Text;
using System.Text.Json;

namespace FrSpec.Cli;

/// <summary>Reads benchmark text: a .txt file (documents split at blank lines), or .jsonl / .jsonl.zst with a "text" field.</summary>
internal static class CorpusReader
{
    public static List<string> Read(string path, long maxBytes)
    {
        if (!File.Exists(path)) throw new FrSpecException($"{path}: corpus file not found");
        var texts = new List<string>();
        long bytes = 0;
        bool zst = path.EndsWith(".zst", StringComparison.OrdinalIgnoreCase);
        bool jsonl = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".jsonl.zst", StringComparison.OrdinalIgnoreCase);
        using Stream file = File.OpenRead(path);
        using Stream stream = zst ? new ZstdSharp.DecompressionStream(file) : file;
        using var reader = new StreamReader(stream, new UTF8Encoding(false), false);
        if (jsonl)
        {
            int lineNo = 0;
            while (bytes < maxBytes && reader.ReadLine() is { } line)
            {
                lineNo++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                string? text;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    text = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String
                        ? t.GetString() : null;
                }
                catch (Exception e) when (e is JsonException or InvalidOperationException)
                {
                    throw new FrSpecException($"{path} line {lineNo}: not a JSON object ({e.Message})");
                }
                if (text is null) throw new FrSpecException($"{path} line {lineNo}: no string field \"text\"");
                texts.Add(text);
                bytes += Encoding.UTF8.GetByteCount(text);
            }
            return texts;
        }
        var sb = new StringBuilder();
        while (bytes < maxBytes && reader.ReadLine() is { } line)
        {
            if (line.Length == 0 && sb.Length > 0)
            {
                texts.Add(sb.ToString());
                bytes += Encoding.UTF8.GetByteCount(texts[^1]);
                sb.Clear();
                continue;
            }
            sb.Append(line).Append('\n');
        }
        if (sb.Length > 0) texts.Add(sb.ToString());
        return texts;
    }
}
