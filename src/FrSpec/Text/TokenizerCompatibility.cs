namespace FrSpec.Text;

/// <summary>
/// Whether a draft model can speculate for a target token for token, checked by content as llama.cpp does
/// (common_speculative_are_compatible): the same kind of vocabulary (byte-level BPE or SentencePiece-style), the same
/// special tokens (BOS/EOS and whether encoding adds them), vocabulary sizes within 128 of each other, and identical
/// token texts from id 5 on (the first ids are control tokens some conversions renumber).
/// </summary>
public static class TokenizerCompatibility
{
    /// <summary>Largest difference of vocabulary sizes accepted (llama.cpp's SPEC_VOCAB_MAX_SIZE_DIFFERENCE).</summary>
    public const int MaxSizeDifference = 128;
    /// <summary>First id whose token text must match (llama.cpp's SPEC_VOCAB_CHECK_START_TOKEN_ID).</summary>
    public const int FirstCheckedId = 5;

    /// <summary>
    /// Null when compatible, else why not, in one sentence naming the first difference. Sizes are the models'
    /// vocabulary sizes (config vocab_size); the token texts compared are the tokenizers'.
    /// </summary>
    public static string? Problem(ITokenizer target, int targetSize, ITokenizer draft, int draftSize)
    {
        bool? targetBytes = (target as HfTokenizer)?.ByteLevel, draftBytes = (draft as HfTokenizer)?.ByteLevel;
        if (targetBytes != draftBytes)
            return $"the vocabulary types differ (target {Kind(targetBytes)}, draft {Kind(draftBytes)})";
        if (target.BosId != draft.BosId) return $"the BOS tokens differ (target {Id(target.BosId)}, draft {Id(draft.BosId)})";
        if (target.EosId != draft.EosId) return $"the EOS tokens differ (target {Id(target.EosId)}, draft {Id(draft.EosId)})";
        if (target is HfTokenizer t && draft is HfTokenizer d)
        {
            if (!t.PrefixIds.AsSpan().SequenceEqual(d.PrefixIds)) return $"one tokenizer adds BOS/prefix tokens the other does not ([{string.Join(", ", t.PrefixIds)}] vs [{string.Join(", ", d.PrefixIds)}])";
            if (!t.SuffixIds.AsSpan().SequenceEqual(d.SuffixIds)) return $"one tokenizer adds EOS/suffix tokens the other does not ([{string.Join(", ", t.SuffixIds)}] vs [{string.Join(", ", d.SuffixIds)}])";
        }
        if (Math.Abs(targetSize - draftSize) > MaxSizeDifference)
            return $"the vocabulary sizes differ by more than {MaxSizeDifference} (target {targetSize}, draft {draftSize})";
        int n = Math.Min(target.VocabSize, draft.VocabSize);
        for (int id = FirstCheckedId; id < n; id++)
        {
            string? a = target.IdToToken(id), b = draft.IdToToken(id);
            if (a != b) return $"token {id} differs (target '{a}', draft '{b}')";
        }
        return null;
    }

    private static string Kind(bool? byteLevel) => byteLevel switch { true => "byte-level BPE", false => "SentencePiece-style BPE", _ => "unknown" };
    private static string Id(int? id) => id?.ToString() ?? "none";
}
