using System.Text;
using FrSpec.Text;

namespace FrSpec.Tests.Frequency;

/// <summary>
/// A deterministic stand-in for a real tokenizer: words (split on spaces) map to ids by a stable hash, special
/// token strings map to fixed ids, and addSpecialTokens prepends BOS (id 1), as Llama-3's tokenizer does.
/// </summary>
internal sealed class FakeTokenizer(int vocabSize = 1000) : ITokenizer
{
    public static readonly Dictionary<string, int> Specials = new()
    {
        ["<|begin_of_text|>"] = 1, ["<|end_of_text|>"] = 2, ["<|eot_id|>"] = 3, ["<|start_header_id|>"] = 4, ["<|end_header_id|>"] = 5,
    };
    private const int FirstWordId = 10;

    public int VocabSize { get; } = vocabSize;

    public int[] Encode(string text, bool addSpecialTokens = false)
    {
        var ids = new List<int>();
        if (addSpecialTokens) ids.Add(1);
        foreach (var w in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            ids.Add(Specials.TryGetValue(w, out int s) ? s : WordId(w));
        return ids.ToArray();
    }

    public int WordId(string w)
    {
        uint h = 2166136261;
        foreach (char c in w) h = (h ^ c) * 16777619;
        return FirstWordId + (int)(h % (uint)(VocabSize - FirstWordId));
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false) => throw new NotSupportedException();
    public byte[] DecodeToBytes(ReadOnlySpan<int> ids, bool skipSpecialTokens = false) => throw new NotSupportedException();
    public int? TokenToId(string token) => Specials.TryGetValue(token, out int id) ? id : null;
    public string? IdToToken(int id) => Specials.FirstOrDefault(p => p.Value == id).Key ?? (id >= 0 && id < VocabSize ? $"w{id}" : null);
    public bool IsSpecial(int id) => id is >= 1 and <= 5;

    /// <summary>A reproducible document with a Zipf-like word distribution.</summary>
    public static string Document(Random rng, int words)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < words; i++)
        {
            int rank = (int)Math.Floor(Math.Pow(rng.NextDouble(), 3) * 3000);
            sb.Append("w").Append(rank).Append(' ');
        }
        return sb.ToString().TrimEnd();
    }
}
