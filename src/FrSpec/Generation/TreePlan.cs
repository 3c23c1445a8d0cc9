namespace FrSpec.Generation;

/// <summary>
/// How a speculative session decodes at a given moment: a tree shape (EAGLE-2's depth, top-k and size; see
/// <c>Speculative.TreeOptions</c>) and draft vocabulary, or plain decoding when no tree is expected to beat it. Fixed trees
/// report themselves this way too (<see cref="Auto"/> false, no predictions).
/// </summary>
public sealed record TreePlan
{
    /// <summary>False: plain decoding (one target pass per token), because no tree was expected to be faster.</summary>
    public bool Speculative { get; init; } = true;

    /// <summary>Expansion steps after the root's children (the shape is also given when <see cref="Speculative"/> is false: the best tree, which lost).</summary>
    public required int Depth { get; init; }

    /// <summary>Children per expanded node and frontier width.</summary>
    public required int TopK { get; init; }

    /// <summary>Tree tokens verified per round, root included.</summary>
    public required int TotalTokens { get; init; }

    /// <summary>V' of the draft LM head (the full vocabulary size for EAGLE-2).</summary>
    public required int DraftVocabularySize { get; init; }

    /// <summary>Whether the automatic tree chose this plan.</summary>
    public bool Auto { get; init; }

    /// <summary>
    /// Whether the automatic tree's acceptance statistics started from those learned earlier with the same model and
    /// drafter (by another session, or a run before, docs/speculative.md) rather than from the generic prior.
    /// </summary>
    public bool WarmStart { get; init; }

    /// <summary>Tokens per target pass the cost model expects from the tree (bonus included); 0 when not predicted.</summary>
    public double PredictedAcceptLength { get; init; }

    /// <summary>Decode tokens per second the cost model expects from the tree; 0 when not predicted.</summary>
    public double PredictedTokensPerSecond { get; init; }

    /// <summary>Decode tokens per second the cost model expects from plain decoding; 0 when not predicted.</summary>
    public double PredictedPlainTokensPerSecond { get; init; }

    /// <summary>A one-line description, e.g. "depth 4, top-k 8, 16 tokens, V' 16384 (auto: 2.9 tokens/pass, 41 tok/s predicted, plain 27)".</summary>
    public override string ToString()
    {
        string tree = FormattableString.Invariant($"depth {Depth}, top-k {TopK}, {TotalTokens} tokens, V' {DraftVocabularySize}");
        if (!Auto) return tree;
        string prediction = FormattableString.Invariant($"{PredictedAcceptLength:F2} tokens/pass, {PredictedTokensPerSecond:F1} tok/s predicted, plain {PredictedPlainTokensPerSecond:F1}");
        return Speculative ? $"{tree} (auto: {prediction})" : $"plain decoding (auto: no tree beats it; best tree {tree}: {prediction})";
    }
}
