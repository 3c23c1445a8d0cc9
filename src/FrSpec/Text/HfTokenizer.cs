using System.Text;

namespace FrSpec.Text;

/// <summary>
/// A Hugging Face tokenizer.json with a BPE model (byte-level like Llama-3/Qwen2, or SentencePiece-style like
/// Llama-2/Mistral): added tokens, normalizer, pre-tokenizer, model, post-processor and decoder, with HF semantics.
/// Thread-safe: all per-call state is local or thread-static.
/// </summary>
internal sealed class HfTokenizer : ITokenizer
{
    internal required string SourcePath { get; init; }
    internal required BpeModel Model { get; init; }
    internal required string?[] IdToTokenTable { get; init; }
    internal required Dictionary<string, int> AddedByContent { get; init; }
    internal required AddedToken?[] AddedById { get; init; }
    internal required AddedTokenMatcher RawMatcher { get; init; }
    internal required AddedTokenMatcher NormalizedMatcher { get; init; }
    internal required TextNormalizer? Normalizer { get; init; }
    internal required List<PreTokenizerStep> PreTokenizer { get; init; }
    internal required bool ByteLevel { get; init; }
    internal required int[] PrefixIds { get; init; }   // post-processor, single sequence
    internal required int[] SuffixIds { get; init; }
    internal required List<DecoderStep>? Decoder { get; init; }
    internal required bool CleanUpTokenizationSpaces { get; init; }

    /// <summary>
    /// SentencePiece-style files have no pre-tokenizer, so a whole paragraph is one BPE word. When no vocabulary token
    /// has this character (▁) after another character, no merge can cross the start of a ▁ run, and BPE of the
    /// paragraph equals BPE of its pieces cut there: the pieces are short and cacheable. Null when not provably safe.
    /// </summary>
    internal char? SafeSplitChar { get; init; }

    public int VocabSize => IdToTokenTable.Length;
    public int? BosId { get; init; }
    public int? EosId { get; init; }
    public int? PadId { get; init; }
    public IReadOnlyList<int> SpecialIds => _specialIds ??= AddedById.Where(a => a is { Special: true }).Select(a => a!.Id).ToArray();
    private int[]? _specialIds;

    [ThreadStatic] private static List<(int, int, AddedToken)>? t_matches;
    [ThreadStatic] private static List<TextPiece>? t_piecesA, t_piecesB;

    public int[] Encode(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens) ids.AddRange(PrefixIds);
        EncodeInto(text, ids);
        if (addSpecialTokens) ids.AddRange(SuffixIds);
        return ids.ToArray();
    }

    public void EncodeTo(string text, List<int> output, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(output);
        if (addSpecialTokens) output.AddRange(PrefixIds);
        EncodeInto(text, output);
        if (addSpecialTokens) output.AddRange(SuffixIds);
    }

    /// <summary>Appends the ids of <paramref name="text"/> (no post-processing) to <paramref name="ids"/>.</summary>
    internal void EncodeInto(string text, List<int> ids)
    {
        var matches = t_matches ??= new();
        matches.Clear();
        RawMatcher.Find(text, matches);
        if (matches.Count == 0) { EncodeSection(text, 0, ids); return; }
        var found = matches.ToArray();   // EncodeSection may reuse the thread-static list
        int pos = 0;
        foreach (var (start, end, tok) in found)
        {
            if (start > pos) EncodeSection(text[pos..start], pos, ids);
            ids.Add(tok.Id);
            pos = end;
        }
        if (pos < text.Length) EncodeSection(text[pos..], pos, ids);
    }

    private void EncodeSection(string section, int offset, List<int> ids)
    {
        var normalized = Normalizer is null ? section : Normalizer.Normalize(section);
        if (normalized.Length == 0) return;
        if (NormalizedMatcher.IsEmpty) { PreTokenizeAndEncode(normalized, offset == 0, ids); return; }
        var matches = new List<(int, int, AddedToken)>();
        NormalizedMatcher.Find(normalized, matches);
        int pos = 0;
        foreach (var (start, end, tok) in matches)
        {
            if (start > pos) PreTokenizeAndEncode(normalized[pos..start], offset == 0 && pos == 0, ids);
            ids.Add(tok.Id);
            pos = end;
        }
        if (pos < normalized.Length) PreTokenizeAndEncode(normalized[pos..], offset == 0 && pos == 0, ids);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]   // hot: skip tier-0 code
    private void PreTokenizeAndEncode(string text, bool startsText, List<int> ids)
    {
        var pieces = t_piecesA ??= new List<TextPiece>();
        var spare = t_piecesB ??= new List<TextPiece>();
        pieces.Clear();
        pieces.Add(new TextPiece(text, 0, text.Length));
        foreach (var step in PreTokenizer)
        {
            spare.Clear();
            step.Apply(pieces, spare, startsText);
            (pieces, spare) = (spare, pieces);
        }
        foreach (var piece in pieces)
        {
            if (ByteLevel) EncodeByteLevel(piece.Span, ids);
            else if (SafeSplitChar is char cut) EncodeCut(piece.Span, cut, ids);
            else Model.Encode(piece.Span, ids);
        }
        pieces.Clear();
        spare.Clear();
    }

    /// <summary>Encodes a word cut before each run of <paramref name="cut"/> (see <see cref="SafeSplitChar"/>).</summary>
    private void EncodeCut(ReadOnlySpan<char> word, char cut, List<int> ids)
    {
        int start = 0;
        for (int i = 1; i < word.Length; i++)
            if (word[i] == cut && word[i - 1] != cut)
            {
                Model.Encode(word[start..i], ids);
                start = i;
            }
        Model.Encode(word[start..], ids);
    }

    /// <summary>Maps the UTF-8 bytes of a piece to GPT-2 byte characters and encodes them.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]   // hot: skip tier-0 code
    private void EncodeByteLevel(ReadOnlySpan<char> piece, List<int> ids)
    {
        int maxBytes = piece.Length * 3;
        byte[]? rentedBytes = null;
        char[]? rentedChars = null;
        Span<byte> bytes = maxBytes <= 1024 ? stackalloc byte[maxBytes] : (rentedBytes = System.Buffers.ArrayPool<byte>.Shared.Rent(maxBytes));
        Span<char> chars = maxBytes <= 1024 ? stackalloc char[maxBytes] : (rentedChars = System.Buffers.ArrayPool<char>.Shared.Rent(maxBytes));
        int n = Encoding.UTF8.GetBytes(piece, bytes);
        var map = ByteLevelMap.ByteToChar;
        for (int k = 0; k < n; k++) chars[k] = map[bytes[k]];
        Model.Encode(chars[..n], ids);
        if (rentedBytes is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rentedBytes);
        if (rentedChars is not null) System.Buffers.ArrayPool<char>.Shared.Return(rentedChars);
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var pieces = Pieces(ids, skipSpecialTokens);
        string text;
        if (Decoder is null) text = string.Join(" ", pieces.Select(p => p.Text));
        else
        {
            foreach (var step in Decoder) step.Apply(pieces, raw: false, continuation: false);
            var sb = new StringBuilder();
            foreach (var p in pieces) sb.Append(p.Text ?? Encoding.UTF8.GetString(p.Raw!));
            text = sb.ToString();
        }
        return CleanUpTokenizationSpaces ? CleanUp(text) : text;
    }

    public byte[] DecodeToBytes(ReadOnlySpan<int> ids, bool skipSpecialTokens = false) => RawBytes(ids, skipSpecialTokens, false);

    public byte[] ContinuationBytes(int id) => RawBytes([id], false, true);

    private byte[] RawBytes(ReadOnlySpan<int> ids, bool skipSpecialTokens, bool continuation)
    {
        var pieces = Pieces(ids, skipSpecialTokens);
        if (Decoder is null)
            return Encoding.UTF8.GetBytes((continuation && pieces.Count > 0 ? " " : "") + string.Join(" ", pieces.Select(p => p.Text)));
        foreach (var step in Decoder) step.Apply(pieces, raw: true, continuation);
        var bytes = new List<byte>();
        foreach (var p in pieces) bytes.AddRange(p.Bytes);
        return bytes.ToArray();
    }

    private List<DecodePiece> Pieces(ReadOnlySpan<int> ids, bool skipSpecialTokens)
    {
        var pieces = new List<DecodePiece>(ids.Length);
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)IdToTokenTable.Length || IdToTokenTable[id] is not { } tok) continue;   // HF skips unknown ids
            var added = AddedById[id];
            if (skipSpecialTokens && added is { Special: true }) continue;
            pieces.Add(DecodePiece.OfText(tok, added is not null));
        }
        return pieces;
    }

    /// <summary>transformers' clean_up_tokenization (spaces before punctuation and English contractions).</summary>
    internal static string CleanUp(string text) => text
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
        .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");

    public int? TokenToId(string token)
        => AddedByContent.TryGetValue(token, out int id) ? id : Model.TokenToId(token);

    public string? IdToToken(int id) => (uint)id < (uint)IdToTokenTable.Length ? IdToTokenTable[id] : null;

    public bool IsSpecial(int id) => (uint)id < (uint)AddedById.Length && AddedById[id] is { Special: true };

    public override string ToString() => $"HfTokenizer({SourcePath}, {VocabSize} ids)";
}
