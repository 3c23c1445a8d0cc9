namespace FrSpec.Speculative;

/// <summary>
/// Proposes draft trees for <see cref="SpeculativeDecoder"/>. The decoder tells it every token the target accepts,
/// each paired with the target feature of the token before it (what <see cref="Features"/> asks for: nothing, the
/// final-norm hidden state, or the inputs of some target layers), and asks for a tree rooted at the newest target
/// token. A drafter belongs to one session: it owns its caches and scratch, and may share only immutable weights with
/// other sessions. The drafters: EAGLE-1/2/3 heads and draft models (<see cref="EagleDrafter"/>, the dynamic tree),
/// Medusa heads (<see cref="MedusaDrafter"/>, a static tree), prompt lookup (<see cref="PromptLookupDrafter"/>);
/// tests plug in oracles.
/// </summary>
internal interface IDrafter
{
    /// <summary>The target features this drafter consumes with each accepted token.</summary>
    DraftFeatures Features { get; }

    /// <summary>The most nodes (root included) a tree of this drafter can have: the verification pass's size.</summary>
    int MaxTreeTokens { get; }

    /// <summary>
    /// Starts a new sequence with this prompt (before any <see cref="Extend"/>). The sequence will hold at most
    /// <paramref name="maxSequenceLength"/> tokens (prompt, generated tokens and one draft tree), so the drafter sizes
    /// its caches here, once per sequence, and never during decoding.
    /// </summary>
    void Begin(ReadOnlySpan<int> prompt, int maxSequenceLength);

    /// <summary>
    /// Appends n accepted (feature, next token) pairs: features[j] (<see cref="DraftFeatures.Width"/> floats, none when
    /// the width is 0) is the target feature at sequence position s + j, nextTokens[j] the token at position s + j + 1
    /// (docs/formats.md, "Draft forward": the alignment).
    /// </summary>
    void Extend(ReadOnlySpan<float> features, ReadOnlySpan<int> nextTokens);

    /// <summary>Builds the tree rooted at <paramref name="rootToken"/> (the last token passed to <see cref="Extend"/>).</summary>
    void Draft(int rootToken, DraftTree tree);

    /// <summary>Seconds spent in draft layers and in the draft LM head (incl. softmax and top-k) so far.</summary>
    (double Layers, double Head) Time { get; }
}

/// <summary>
/// What a drafter reads from the target's verification passes, per accepted position: <see cref="Width"/> floats,
/// either the final-norm hidden state (EAGLE-1/2, Medusa) or, when <see cref="CapturedLayers"/> is set, the inputs of
/// those target layers concatenated (EAGLE-3), taken from the same pass. Width 0: tokens only (draft model, prompt lookup).
/// </summary>
internal sealed record DraftFeatures(int Width, IReadOnlyList<int>? CapturedLayers = null)
{
    public static DraftFeatures None { get; } = new(0);
    public static DraftFeatures FinalHidden(int hidden) => new(hidden);
}
