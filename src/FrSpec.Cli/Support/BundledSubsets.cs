using System.Text.Json;
using FrSpec.Frequency;

namespace FrSpec.Cli.Support;

/// <summary>
/// The token counts behind the FR-Spec subsets shipped in the repository (data/fr/&lt;family&gt;/, see data/fr/README.md), matched to a
/// tokenizer by the SHA-256 of its tokenizer.json recorded in each folder's freq.json.
/// </summary>
internal static class BundledSubsets
{
    /// <summary>The bundled token counts (whole vocabulary) for this tokenizer file, or null.</summary>
    public static long[]? Find(string tokenizerJson)
    {
        string? root = BenchmarkDataLocator.FindRepositoryRoot();
        if (root == null || !File.Exists(tokenizerJson)) return null;
        string sha = Convert.ToHexStringLower(TokenCounts.FingerprintOf(tokenizerJson));
        string frDir = Path.Combine(root, "data", "fr");
        if (!Directory.Exists(frDir)) return null;
        foreach (var summary in Directory.GetFiles(frDir, "freq.json", SearchOption.AllDirectories))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(summary));
            if (!doc.RootElement.TryGetProperty("tokenizer_sha256", out var s) || s.GetString() != sha) continue;
            string counts = Path.Combine(Path.GetDirectoryName(summary)!, "counts.bin.gz");
            return File.Exists(counts) ? TokenCounts.Load(counts).Counts : null;
        }
        return null;
    }
}
