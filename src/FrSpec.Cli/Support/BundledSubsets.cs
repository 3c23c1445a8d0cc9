using System.Security.Cryptography;
using System.Text.Json;
using FrSpec.Formats.Torch;

namespace FrSpec.Cli.Support;

/// <summary>
/// The FR-Spec subsets shipped in the repository (data/fr/&lt;family&gt;/, see data/fr/README.md), matched to a
/// tokenizer by the SHA-256 of its tokenizer.json recorded in each folder's freq.json.
/// </summary>
internal static class BundledSubsets
{
    /// <summary>The largest bundled frequency ranking for this tokenizer file (most frequent first), or null.</summary>
    public static int[]? Find(string tokenizerJson)
    {
        string? root = BenchmarkDataLocator.FindRepositoryRoot();
        if (root == null || !File.Exists(tokenizerJson)) return null;
        string sha;
        using (var fs = File.OpenRead(tokenizerJson)) sha = Convert.ToHexString(SHA256.HashData(fs)).ToLowerInvariant();
        string frDir = Path.Combine(root, "data", "fr");
        if (!Directory.Exists(frDir)) return null;
        foreach (var summary in Directory.GetFiles(frDir, "freq.json", SearchOption.AllDirectories))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(summary));
            if (!doc.RootElement.TryGetProperty("tokenizer_sha256", out var s) || s.GetString() != sha) continue;
            var largest = doc.RootElement.GetProperty("subsets").EnumerateArray()
                .OrderByDescending(e => e.GetProperty("size").GetInt32()).First().GetProperty("file").GetString()!;
            return TorchCheckpoint.ReadIntList(Path.Combine(Path.GetDirectoryName(summary)!, largest));
        }
        return null;
    }
}
