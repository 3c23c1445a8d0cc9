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
            foreach (var id in Frequency.SpecialTokenRules.EosIdsFromConfig(Path.Combine(modelDir, file))) ids.Add(id);
        foreach (var t in KnownStopTokens)
            if (tokenizer.TokenToId(t) is int id && tokenizer.IsSpecial(id)) ids.Add(id);
        ids.RemoveWhere(id => id < 0 || id >= tokenizer.VocabSize);
        return ids;
    }
}
