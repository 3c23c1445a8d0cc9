using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace FrSpec.Speculative.AutoTree;

/// <summary>
/// Where measured <see cref="CostProfile"/>s are kept: one file per key in a cache folder, the key naming everything
/// the costs depend on — the target's and the head's files (name, size, time written), the draft vocabulary sizes, the
/// tree bounds, the machine (processor, core count, OS), the engine options and the engine build (kernels change
/// between builds). A file that cannot be read is measured again; a folder that cannot be written only costs the cache.
/// </summary>
internal static class CostProfileStore
{
    /// <summary>The key of a profile (human-readable; hashed for the file name).</summary>
    public static string Key(string targetPath, string headDirectory, IReadOnlyList<int> variantSizes, TreeOptions bounds, EngineOptions options)
    {
        var sb = new StringBuilder();
        sb.Append("target: ").Append(Files(targetPath)).Append('\n');
        sb.Append("head: ").Append(Files(headDirectory)).Append('\n');
        sb.Append("variants: ").AppendJoin(',', variantSizes).Append('\n');
        sb.Append("bounds: ").Append(bounds.Depth).Append('/').Append(bounds.TopK).Append('/').Append(bounds.TotalTokens).Append('\n');
        sb.Append("machine: ").Append(Machine()).Append('\n');
        sb.Append("engine: ").Append(options with { Threads = options.ResolvedThreads })
          .Append(' ').Append(typeof(CostProfileStore).Assembly.ManifestModule.ModuleVersionId).Append('\n');
        return sb.ToString();
    }

    /// <summary>The cached profile of <paramref name="key"/> in <paramref name="directory"/>, else a fresh measurement (then saved).</summary>
    public static CostProfile GetOrMeasure(string? directory, string key, Func<CostProfile> measure)
    {
        string? file = directory == null ? null : Path.Combine(directory, FileName(key));
        if (file != null && File.Exists(file))
        {
            try
            {
                if (CostProfile.FromJson(File.ReadAllText(file)) is { } cached && cached.Key == key) return cached;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        var profile = measure() with { Key = key };
        if (file != null)
        {
            try
            {
                Directory.CreateDirectory(directory!);
                string tmp = file + $".{Environment.ProcessId}.tmp";
                File.WriteAllText(tmp, profile.ToJson());
                File.Move(tmp, file, overwrite: true);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return profile;
    }

    public static string FileName(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32] + ".json";

    private static string Files(string path)
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
        return $"{cpu} x{Environment.ProcessorCount} {RuntimeInformation.ProcessArchitecture} {RuntimeInformation.OSDescription}";
    }
}
