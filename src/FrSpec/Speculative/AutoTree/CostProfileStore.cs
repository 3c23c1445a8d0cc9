using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FrSpec.Formats;

namespace FrSpec.Speculative.AutoTree;

/// <summary>
/// Where measured costs (<see cref="TargetCosts"/>, <see cref="DraftCosts"/>) are kept: one file per key in a cache
/// folder, the key naming everything the costs depend on — the target's (and the head's) files (name, size, time
/// written), the draft vocabulary sizes, the tree bounds, the machine (processor, core count, OS), the engine options
/// and the engine build (kernels change between builds). A file that cannot be read is measured again; a folder that cannot be written only costs the cache.
/// Every engine build makes new keys, so the folder keeps only the <see cref="MaxFiles"/> most recently used records.
/// </summary>
internal static class CostProfileStore
{
    /// <summary>How many cost records the cache folder keeps (each is a few kilobytes).</summary>
    public const int MaxFiles = 64;

    /// <summary>The key of a target's costs (human-readable; hashed for the file name).</summary>
    public static string TargetKey(string targetPath, TreeOptions bounds, EngineOptions options) =>
        $"target costs\ntarget: {Files(targetPath)}\nbounds: {bounds.Depth}/{bounds.TopK}/{bounds.TotalTokens}\n{Environment(options)}";

    /// <summary>The key of a drafter's costs (the head and its draft vocabulary sizes, on this target).</summary>
    public static string DraftKey(string targetPath, string headDirectory, IReadOnlyList<int> variantSizes, TreeOptions bounds, EngineOptions options) =>
        $"draft costs\ntarget: {Files(targetPath)}\nhead: {Files(headDirectory)}\nvariants: {string.Join(',', variantSizes)}\n" +
        $"bounds: {bounds.Depth}/{bounds.TopK}/{bounds.TotalTokens}\n{Environment(options)}";

    private static string Environment(EngineOptions options) =>
        $"machine: {Machine()}\nengine: {options with { Threads = options.ResolvedThreads }} {typeof(CostProfileStore).Assembly.ManifestModule.ModuleVersionId}\n";

    /// <summary>The cached costs of <paramref name="key"/> in <paramref name="directory"/>, else a fresh measurement (then saved).</summary>
    public static T GetOrMeasure<T>(string? directory, string key, Func<T> measure) where T : class, ICachedCosts
    {
        string? file = directory == null ? null : Path.Combine(directory, FileName(key));
        if (file != null && File.Exists(file))
        {
            try
            {
                if (Read<T>(File.ReadAllText(file)) is { } cached && cached.Key == key)
                {
                    File.SetLastWriteTimeUtc(file, DateTime.UtcNow); // marks it used, so pruning keeps it
                    return cached;
                }
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        var costs = measure();
        var keyed = (T)(object)(costs switch
        {
            TargetCosts t => t with { Key = key },
            DraftCosts d => d with { Key = key },
            _ => throw new ArgumentException($"unknown cost record {typeof(T).Name}"),
        });
        if (file != null)
        {
            try
            {
                Directory.CreateDirectory(directory!);
                AtomicFile.WriteAllText(file, JsonSerializer.Serialize(keyed, CostProfile.Json));
                Prune(directory!, MaxFiles);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return keyed;
    }

    /// <summary>Deletes all but the <paramref name="keep"/> most recently used records in <paramref name="directory"/>.</summary>
    public static void Prune(string directory, int keep, string pattern = "*.json")
    {
        var records = new DirectoryInfo(directory).GetFiles(pattern);
        if (records.Length <= keep) return;
        Array.Sort(records, (a, b) => b.LastWriteTimeUtc.CompareTo(a.LastWriteTimeUtc));
        for (int i = keep; i < records.Length; i++)
        {
            try { records[i].Delete(); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>A cached record, or null when the text is not a complete, consistent one (it is then measured again).</summary>
    public static T? Read<T>(string json) where T : class, ICachedCosts
    {
        try { return JsonSerializer.Deserialize<T>(json, CostProfile.Json) is { } r && r.IsValid() ? r : null; }
        catch (JsonException) { return null; }
    }

    public static string FileName(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32] + ".json";

    internal static string Files(string path)
    {
        var sb = new StringBuilder(Path.GetFullPath(path));
        IEnumerable<string> files = File.Exists(path) ? [path]
            : Directory.Exists(path) ? Directory.EnumerateFiles(path).Where(f => f.EndsWith(".json", StringComparison.Ordinal)
                || f.EndsWith(".safetensors", StringComparison.Ordinal) || f.EndsWith(".bin", StringComparison.Ordinal)
                || f.EndsWith(".gguf", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            : [];
        foreach (var f in files)
        {
            var info = new FileInfo(f);
            sb.Append(' ').Append(info.Name).Append(':').Append(info.Length).Append(':').Append(info.LastWriteTimeUtc.Ticks);
        }
        return sb.ToString();
    }

    private static string Machine()
    {
        string cpu = "";
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "";
        }
        catch (IOException) { }
        return $"{cpu} x{System.Environment.ProcessorCount} {RuntimeInformation.ProcessArchitecture} {RuntimeInformation.OSDescription}";
    }
}
