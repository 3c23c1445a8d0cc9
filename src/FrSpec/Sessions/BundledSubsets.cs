using FrSpec.Frequency;

namespace FrSpec.Sessions;

/// <summary>
/// The token counts behind the FR-Spec subsets shipped in the repository (data/fr/&lt;family&gt;/counts.bin.gz, see
/// data/fr/README.md), embedded in the engine so that an FR-Spec vocabulary of any size V' needs no file for the
/// supported tokenizers. A model matches a counts file when the SHA-256 of its tokenizer.json equals the one the file
/// records.
/// </summary>
internal static class BundledSubsets
{
    private const string Prefix = "FrSpec.Bundled.";

    private static readonly Lazy<IReadOnlyList<(string Name, TokenCounts Counts)>> All = new(() =>
    {
        var assembly = typeof(BundledSubsets).Assembly;
        var list = new List<(string, TokenCounts)>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            list.Add((name[Prefix.Length..], TokenCounts.Parse(buffer.ToArray(), "bundled " + name[Prefix.Length..])));
        }
        return list;
    });

    /// <summary>Names of the bundled counts files (e.g. "llama3.counts.bin.gz").</summary>
    public static IEnumerable<string> Names => All.Value.Select(c => c.Name);

    /// <summary>The bundled counts made with this tokenizer.json (compared by SHA-256), or null.</summary>
    public static (string Name, TokenCounts Counts)? Find(string tokenizerJson)
    {
        if (!File.Exists(tokenizerJson)) return null;
        var sha = TokenCounts.FingerprintOf(tokenizerJson);
        foreach (var entry in All.Value)
            if (entry.Counts.TokenizerSha256.AsSpan().SequenceEqual(sha)) return entry;
        return null;
    }
}
