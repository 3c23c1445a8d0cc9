namespace FrSpec.Text;

/// <summary>
/// A Hugging Face tokenizer (tokenizer.json): text to ids and back, with HF semantics exactly.
/// Implementations are thread-safe for concurrent Encode/Decode calls.
/// </summary>
public interface ITokenizer
{
    /// <summary>Number of ids (base vocabulary plus added tokens), i.e. max id + 1.</summary>
    int VocabSize { get; }

    /// <summary>Encodes text as HF `tokenizer.encode(text, add_special_tokens=addSpecialTokens)` does.
    /// Special-token text in the input (e.g. "&lt;|eot_id|&gt;") is recognised as one token, as HF does.</summary>
    int[] Encode(string text, bool addSpecialTokens = false);

    /// <summary>Like <see cref="Encode(string, bool)"/> but appends the ids to <paramref name="output"/> (no array per
    /// call: for bulk counting).</summary>
    void EncodeTo(string text, List<int> output, bool addSpecialTokens = false) => output.AddRange(Encode(text, addSpecialTokens));

    /// <summary>Decodes ids to text as HF `tokenizer.decode(ids, skip_special_tokens=skipSpecialTokens)`.</summary>
    string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false);

    /// <summary>The raw bytes that the ids stand for (byte-level BPE / byte fallback), used by streaming decoding.</summary>
    byte[] DecodeToBytes(ReadOnlySpan<int> ids, bool skipSpecialTokens = false);

    /// <summary>Id of a token string (vocabulary or added token), or null.</summary>
    int? TokenToId(string token);

    /// <summary>Token string of an id, or null when out of range.</summary>
    string? IdToToken(int id);

    /// <summary>True for added tokens marked special (BOS, EOS, chat control tokens).</summary>
    bool IsSpecial(int id);

    /// <summary>Id of the BOS token named by tokenizer_config.json (bos_token), or null.</summary>
    int? BosId => null;

    /// <summary>Id of the EOS token named by tokenizer_config.json (eos_token), or null.</summary>
    int? EosId => null;

    /// <summary>Ids of all added tokens marked special, ascending.</summary>
    IReadOnlyList<int> SpecialIds => [];

    /// <summary>The bytes <paramref name="id"/> adds when it follows earlier tokens: like DecodeToBytes([id]) but
    /// without start-of-text handling such as SentencePiece's strip of the leading space. Used by streaming decoding.</summary>
    byte[] ContinuationBytes(int id) => DecodeToBytes(new[] { id });
}
