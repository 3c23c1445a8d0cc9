using System.Text.Json;

namespace FrSpec.Text;

/// <summary>A tokenizer.json "normalizer": rewrites each text section (between added tokens) before pre-tokenization.</summary>
internal abstract class TextNormalizer
{
    public abstract string Normalize(string text);

    /// <summary>Builds the normalizer of a tokenizer.json node (null node = none).</summary>
    public static TextNormalizer? FromJson(JsonElement node, string file)
    {
        if (node.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        var type = Json.Str(node, "type", file, "normalizer");
        switch (type)
        {
            case "NFC": return new Lambda(UnicodeNormalizer.Nfc);
            case "NFD": return new Lambda(UnicodeNormalizer.Nfd);
            case "Lowercase": return new Lambda(s => s.ToLowerInvariant());
            case "Prepend":
                var prefix = Json.Str(node, "prepend", file, "normalizer.Prepend");
                return new Lambda(s => s.Length == 0 ? s : prefix + s);
            case "Replace":
                var (pattern, isRegex) = Json.Pattern(node, file, "normalizer.Replace");
                var content = Json.Str(node, "content", file, "normalizer.Replace");
                if (pattern.Length == 0) throw new FrSpecException($"{file}: normalizer.Replace.pattern is empty");
                if (!isRegex) return new Lambda(s => s.Replace(pattern, content, StringComparison.Ordinal));
                var regex = new TokenizerRegex(pattern, $"{file}: normalizer.Replace");
                return new Lambda(s => regex.Replace(s, content));
            case "Strip":
                bool left = Json.Bool(node, "strip_left", true), right = Json.Bool(node, "strip_right", true);
                return new Lambda(s => left && right ? s.Trim() : left ? s.TrimStart() : right ? s.TrimEnd() : s);
            case "Sequence":
                var parts = Json.Array(node, "normalizers", file, "normalizer.Sequence")
                    .Select(n => FromJson(n, file)).Where(n => n is not null).ToArray();
                return new Lambda(s => { foreach (var p in parts) s = p!.Normalize(s); return s; });
            default:
                throw new FrSpecException($"{file}: normalizer type '{type}' is not supported (supported: NFC, NFD, Lowercase, Prepend, Replace, Strip, Sequence)");
        }
    }

    private sealed class Lambda(Func<string, string> f) : TextNormalizer
    {
        public override string Normalize(string text) => f(text);
    }
}
