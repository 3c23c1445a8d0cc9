namespace FrSpec.Speculative.AutoTree;

/// <summary>
/// Settings of the automatic tree (docs/speculative.md, "The automatic tree"): the bounds of the search over tree
/// shapes, how often the choice is revisited, how fast old acceptance statistics fade, and where measured costs are
/// cached. The defaults suit CPUs, where a verification pass of more than a few dozen tokens never pays.
/// </summary>
public sealed record AutoTreeOptions
{
    /// <summary>Largest depth D considered (expansion steps after the root's children).</summary>
    public int MaxDepth { get; init; } = 7;

    /// <summary>Largest top-k considered (children per expanded node and frontier width).</summary>
    public int MaxTopK { get; init; } = 10;

    /// <summary>Largest tree considered, root included (the largest verification pass measured).</summary>
    public int MaxTotalTokens { get; init; } = 48;

    /// <summary>Rounds between two choices (a choice is also made at the start of every generation).</summary>
    public int ReplanEvery { get; init; } = 8;

    /// <summary>Weight kept by past acceptance observations after each round (0.995: about the last 200 rounds count).</summary>
    public double Decay { get; init; } = 0.995;

    /// <summary>
    /// Rounds a session speculates, with the best tree the priors suggest, before it may settle on plain decoding: plain
    /// decoding teaches nothing about acceptance, so a session first measures it.
    /// </summary>
    public int ExplorationRounds { get; init; } = 16;

    /// <summary>
    /// Folder where measured costs are kept between runs, one file per model, head, draft vocabularies, machine and engine
    /// options (the CLI uses ~/.cache/frspec/tree-costs); null measures once per loaded model and keeps the result in memory.
    /// </summary>
    public string? CostCacheDirectory { get; init; }

    public static AutoTreeOptions Default { get; } = new();

    /// <summary>The largest tree any choice can make: drafters size their buffers for it.</summary>
    public TreeOptions Bounds => new() { Depth = MaxDepth, TopK = MaxTopK, TotalTokens = MaxTotalTokens };

    public void Validate()
    {
        if (MaxDepth < 0 || MaxDepth > 32) throw new FrSpecException($"auto tree: max depth must be in [0, 32], got {MaxDepth}");
        if (MaxTopK < 1 || MaxTopK > DraftTree.MaxCandidates) throw new FrSpecException($"auto tree: max top-k must be in [1, {DraftTree.MaxCandidates}], got {MaxTopK}");
        if (MaxTotalTokens < 2 || MaxTotalTokens > 256) throw new FrSpecException($"auto tree: max tree tokens must be in [2, 256], got {MaxTotalTokens}");
        if (ReplanEvery < 1) throw new FrSpecException($"auto tree: replan interval must be at least 1 round, got {ReplanEvery}");
        if (!(Decay > 0 && Decay <= 1)) throw new FrSpecException($"auto tree: decay must be in (0, 1], got {Decay}");
        if (ExplorationRounds < 0) throw new FrSpecException($"auto tree: exploration rounds must be 0 or more, got {ExplorationRounds}");
    }
}
