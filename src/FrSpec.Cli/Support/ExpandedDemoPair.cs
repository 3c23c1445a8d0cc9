using System.Security.Cryptography;
using FrSpec.Synthesis;

namespace FrSpec.Cli.Support;

/// <summary>
/// The committed demo pair expanded to a real model's shape (docs/expansion.md), built on first use into the user cache
/// (~/.cache/frspec/demo/&lt;shape&gt;-&lt;fingerprint&gt;/{target,eagle}) and reused while the committed pair is unchanged: the
/// fingerprint hashes the pair's files, so a new pair gets a new expansion and the old one is deleted. Built in a
/// temporary folder and renamed into place, so an interrupted build is never mistaken for a finished one.
/// </summary>
internal static class ExpandedDemoPair
{
    /// <summary>The expanded (target, head) folders for this pair and shape, built now when missing.</summary>
    public static (string Target, string Eagle) Ensure(string smallTarget, string smallEagle, ExpansionShape shape, string cacheRoot, TextWriter? status)
    {
        string fingerprint = Fingerprint(smallTarget, smallEagle);
        string dir = Path.Combine(cacheRoot, $"{shape.Name}-{fingerprint}");
        string target = Path.Combine(dir, "target"), eagle = Path.Combine(dir, "eagle");
        if (Directory.Exists(target) && Directory.Exists(eagle)) return (target, eagle);

        Directory.CreateDirectory(cacheRoot);
        // expansions of older pairs of this shape are stale: remove them (each holds a full-size model)
        foreach (var old in Directory.EnumerateDirectories(cacheRoot, $"{shape.Name}-*"))
            if (!string.Equals(Path.GetFullPath(old), Path.GetFullPath(dir), StringComparison.Ordinal)) Directory.Delete(old, recursive: true);
        string staging = $"{dir}.{Environment.ProcessId}.tmp";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        var timer = System.Diagnostics.Stopwatch.StartNew();
        status?.WriteLine($"building the {shape.Name}-shape expansion of the demo pair in {dir} (once; docs/expansion.md)");
        try
        {
            ProgressBar.Run($"expanding the demo target to {shape.Name}", p => ModelExpander.ExpandTarget(smallTarget, shape, Path.Combine(staging, "target"), p));
            ProgressBar.Run("expanding its EAGLE head", p => ModelExpander.ExpandEagle(smallEagle, Path.Combine(staging, "target"), Path.Combine(staging, "eagle"), p));
            try { Directory.Move(staging, dir); }
            catch (IOException) when (Directory.Exists(Path.Combine(dir, "eagle"))) { Directory.Delete(staging, recursive: true); } // another process finished first
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
        status?.WriteLine($"built in {timer.Elapsed.TotalSeconds:F1} s");
        return (target, eagle);
    }

    /// <summary>SHA-256 (first 16 hex digits) over the names and bytes of the files of both folders.</summary>
    public static string Fingerprint(params string[] folders)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var folder in folders)
            foreach (var file in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
            {
                sha.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\n"));
                using var stream = File.OpenRead(file);
                var buffer = new byte[1 << 20];
                int n;
                while ((n = stream.Read(buffer)) > 0) sha.AppendData(buffer.AsSpan(0, n));
            }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }
}
