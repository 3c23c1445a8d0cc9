using System.Text.Json;
using FrSpec.Text;

namespace FrSpec.Frequency;

/// <summary>
/// Which ids every FR-Spec subset must contain (docs/frequency.md): the end-of-sequence ids of the model
/// (generation_config.json eos_token_id, config.json eos_token_id, tokenizer_config.json eos_token) plus the
/// chat-control tokens of the known families that exist in the vocabulary. Without them the draft could never
/// propose the end of a turn, and a loader that keeps only the first V' ids could drop EOS.
/// </summary>
public static class SpecialTokenRules
{
    /// <summary>Chat-control token strings of the supported families (only those present in a vocabulary count).</summary>
    public static readonly IReadOnlyList<string> ChatControlTokens =
    [
        // Llama-3 / 3.1 / 3.2
        "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>",
        // Qwen2 / 2.5 / 3 (ChatML, Qwen3 thinking)
        "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>",
        // Llama-2 / Mistral / Vicuna (SentencePiece); only when it is a special token
        "</s>",
    ];

    /// <summary>Required ids for a tokenizer, reading EOS settings from <paramref name="modelDir"/> when given.</summary>
    public static IReadOnlyList<int> RequiredIds(ITokenizer tokenizer, string? modelDir)
    {
        var ids = new SortedSet<int>();
        foreach (var t in ChatControlTokens)
        {
            if (tokenizer.TokenToId(t) is not int id || id < 0 || id >= tokenizer.VocabSize) continue;
            // "</s>" is an ordinary BPE token in some vocabularies (Qwen): only its special form counts.
            if (t == "</s>" && !tokenizer.IsSpecial(id)) continue;
            ids.Add(id);
        }
        if (modelDir != null && Directory.Exists(modelDir))
        {
            foreach (var id in EosIdsFromConfig(Path.Combine(modelDir, "generation_config.json"))) ids.Add(id);
            foreach (var id in EosIdsFromConfig(Path.Combine(modelDir, "config.json"))) ids.Add(id);
            string tc = Path.Combine(modelDir, "tokenizer_config.json");
            if (File.Exists(tc) && EosTokenString(tc) is string eos && tokenizer.TokenToId(eos) is int eid) ids.Add(eid);
        }
        ids.RemoveWhere(id => id < 0 || id >= tokenizer.VocabSize);
        return ids.ToList();
    }

    /// <summary>eos_token_id (int or list of ints) from a HF config file; empty when absent.</summary>
    public static IEnumerable<int> EosIdsFromConfig(string path)
    {
        if (!File.Exists(path)) return [];
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (!doc.RootElement.TryGetProperty("eos_token_id", out var e)) return [];
            return e.ValueKind switch
            {
                JsonValueKind.Number => [e.GetInt32()],
                JsonValueKind.Array => e.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.Number).Select(x => x.GetInt32()).ToList(),
                _ => [],
            };
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            throw new FrSpecException($"{path}: cannot read eos_token_id: {ex.Message}");
        }
    }

    private static string? EosTokenString(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (!doc.RootElement.TryGetProperty("eos_token", out var e)) return null;
            if (e.ValueKind == JsonValueKind.String) return e.GetString();
            if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String) return c.GetString();
            return null;
        }
        catch (JsonException ex)
        {
            throw new FrSpecException($"{path}: invalid JSON: {ex.Message}");
        }
    }
}
