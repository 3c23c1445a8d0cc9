using FrSpec.Formats.Gguf;

namespace FrSpec.Peer;

/// <summary>
/// The GGUF copy of a model directory, written with FrSpec's own exporter into a cache folder and reused while it is
/// newer than every file of the directory (and the tokenizer).
/// </summary>
internal static class GgufCache
{
    public static string Ensure(string modelDir, string? tokenizerJson, string cacheRoot, Action<string> log)
    {
        string full = Path.GetFullPath(modelDir);
        string tok = tokenizerJson != null ? Path.GetFullPath(tokenizerJson) : Path.Combine(full, "tokenizer.json");
        // One file per (model dir, tokenizer) pair; the name keeps it recognisable.
        string key = $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(full))}-{Synthesis.RandomWeights.Fnv1a(full + "|" + tok):x16}";
        Directory.CreateDirectory(cacheRoot);
        string gguf = Path.Combine(cacheRoot, key + ".gguf");
        var sources = Directory.EnumerateFiles(full).Append(tok).Where(File.Exists).Select(f => File.GetLastWriteTimeUtc(f));
        DateTime newest = sources.DefaultIfEmpty(DateTime.MinValue).Max();
        if (File.Exists(gguf) && File.GetLastWriteTimeUtc(gguf) > newest)
        {
            log($"gguf             {gguf} (cached)");
            return gguf;
        }
        var sw = System.Diagnostics.Stopwatch.StartNew();
        GgufModelExporter.Export(full, gguf, tok);
        log($"gguf             {gguf} (written in {sw.Elapsed.TotalSeconds:F1} s)");
        return gguf;
    }
}
