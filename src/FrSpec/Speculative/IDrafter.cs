namespace FrSpec.Speculative;

/// <summary>
/// Proposes draft trees for <see cref="SpeculativeDecoder"/>. The decoder tells it every token the target accepts,
/// each paired with the target feature (final-norm hidden state) of the token before it, and asks for a tree rooted
/// at the newest target token. A drafter belongs to one session: it owns its caches and scratch, and may share only
/// immutable weights with other sessions. EAGLE-2 (<see cref="EagleDrafter"/>) is the product; tests plug in an oracle.
/// </summary>
internal interface IDrafter
{
    /// <summary>
    /// Starts a new sequence with this prompt (before any <see cref="Extend"/>). The sequence will hold at most
    /// <paramref name="maxSequenceLength"/> tokens (prompt, generated tokens and one draft tree), so the drafter sizes
    /// its caches here, once per sequence, and never during decoding.
    /// </summary>
    void Begin(ReadOnlySpan<int> prompt, int maxSequenceLength);

    /// <summary>
    /// Appends n accepted (feature, next token) pairs: features[j] is the target feature at sequence position s + j,
    /// nextTokens[j] the token at position s + j + 1 (docs/formats.md, "Draft forward": the alignment).
    /// </summary>
    void Extend(ReadOnlySpan<float> features, ReadOnlySpan<int> nextTokens);

    /// <summary>Builds the tree rooted at <paramref name="rootToken"/> (the last token passed to <see cref="Extend"/>).</summary>
    void Draft(int rootToken, DraftTree tree);

    /// <summary>Seconds spent in draft layers and in the draft LM head (incl. softmax and top-k) so far.</summary>
    (double Layers, double Head) Time { get; }
}
