using System.Text.Json;
using FrSpec.Text;

namespace FrSpec.Benchmarks;

/// <summary>The ids that end a chat answer for a model.</summary>
public static class StopIds
{
    /// <summary>End-of-turn and end-of-text tokens of the common chat families.</summary>
    static readonly string[] KnownStopTokens = { "<|eot_id|>", "<|end_of_text|>", "<|im_end|>", "<|endoftext|>", "<|eom_id|>", "</s>" };

    /// <summary>
    /// eos_token_id of generation_config.json and config.json (an id or a list), the tokenizer's eos_token, plus the
    /// known end-of-turn tokens the tokenizer has. Missing or unreadable config files are skipped: the tokenizer's tokens still apply.
    /// </summary>
    public static IReadOnlyCollection<int> FromModelDirectory(string modelDir, ITokenizer tokenizer)
    {
        var ids = new SortedSet<int>();
        foreach (var file in new[] { "generation_config.json", "config.json" })
        {
            var path = Path.Combine(modelDir, file);
            if (!File.Exists(path)) continue;
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(path));
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("eos_token_id", out var eos))
                {
                    if (eos.ValueKind == JsonValueKind.Number && eos.TryGetInt32(out int one)) ids.Add(one);
                    else if (eos.ValueKind == JsonValueKind.Array)
                        foreach (var e in eos.EnumerateArray())
                            if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int id)) ids.Add(id);
                }
            }
            catch (JsonException e)
            {
                throw new FrSpecException($"{path}: not valid JSON ({e.Message})", e);
            }
        }
        if (tokenizer.EosId is int eosId) ids.Add(eosId);
        foreach (var t in KnownStopTokens)
            if (tokenizer.TokenToId(t) is int id && tokenizer.IsSpecial(id)) ids.Add(id);
        ids.RemoveWhere(id => id < 0 || id >= tokenizer.VocabSize);
        return ids;
    }
}
