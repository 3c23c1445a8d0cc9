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
    public int ReplanEvery { get; init; } = 2;

    /// <summary>
    /// Weight kept by past acceptance observations after each round (0.9: about the last 10 rounds count). Text changes
    /// character within an answer (a list after a paragraph, digits after prose) and acceptance with it; a short memory
    /// follows within a few rounds, at the price of noisier estimates, which cost little near the fastest tree.
    /// </summary>
    public double Decay { get; init; } = 0.9;

    /// <summary>
    /// Rounds a session speculates, with the best tree the priors suggest, before it may settle on plain decoding: plain
    /// decoding teaches nothing about acceptance, so a session first measures it.
    /// </summary>
    public int ExplorationRounds { get; init; } = 16;

    /// <summary>
    /// Plain tokens after which a generation that stopped speculating looks again (the interval doubles with every look,
    /// up to <see cref="MaxProbeAfter"/>, and starts over with every generation): the statistics have aged meanwhile,
    /// and if no tree is predicted to win outright, a close one (<see cref="ProbeMargin"/>) is tried for
    /// <see cref="ReplanEvery"/> rounds so the decision rests on fresh acceptance, since text changes within an answer.
    /// </summary>
    public int ProbeAfter { get; init; } = 32;

    /// <summary>
    /// The least share of plain decoding's predicted speed at which the best tree is still tried in a look; below it a
    /// look costs more than it can find, and a generation that starts plain below it drafts nothing at all.
    /// </summary>
    public double ProbeMargin { get; init; } = 0.9;

    /// <summary>
    /// Folder where measured costs are kept between runs, one file per model, head, draft vocabularies, machine and engine
    /// options (the CLI uses ~/.cache/frspec/tree-costs); null measures once per loaded model and keeps the result in memory.
    /// </summary>
    public string? CostCacheDirectory { get; init; }

    /// <summary>
    /// Whether a session starts from the acceptance learned before with the same model and drafter (by earlier sessions
    /// of the loaded model and, with <see cref="AcceptanceCacheDirectory"/>, earlier runs) instead of the generic prior,
    /// and leaves its own for later ones. False: every session starts cold and keeps what it learns to itself.
    /// </summary>
    public bool WarmStart { get; init; } = true;

    /// <summary>
    /// Folder where learned acceptance statistics are kept between runs, one small file per model, drafter and draft
    /// vocabularies (the CLI uses ~/.cache/frspec/acceptance); null keeps them only while the model is loaded.
    /// </summary>
    public string? AcceptanceCacheDirectory { get; init; }

    /// <summary>Most rounds of observations a warm start carries over: the text a session writes outweighs them within a few dozen rounds.</summary>
    public double WarmStartRounds { get; init; } = 8;

    public static AutoTreeOptions Default { get; } = new();

    /// <summary>The longest interval between two looks (the doubling stops here).</summary>
    public const int MaxProbeAfter = 1024;

    /// <summary>The largest tree any choice can make: drafters size their buffers for it.</summary>
    public TreeOptions Bounds => new() { Depth = MaxDepth, TopK = MaxTopK, TotalTokens = MaxTotalTokens };

    public void Validate()
    {
        if (MaxDepth < 0 || MaxDepth > 32) throw new FrSpecException($"auto tree: max depth must be in [0, 32], got {MaxDepth}");
        if (MaxTopK < 1 || MaxTopK > DraftTree.MaxCandidates) throw new FrSpecException($"auto tree: max top-k must be in [1, {DraftTree.MaxCandidates}], got {MaxTopK}");
        if (MaxTotalTokens < 2 || MaxTotalTokens > 256) throw new FrSpecException($"auto tree: max tree tokens must be in [2, 256], got {MaxTotalTokens}");
        if (ReplanEvery < 1) throw new FrSpecException($"auto tree: replan interval must be at least 1 round, got {ReplanEvery}");
        if (!(Decay > 0 && Decay <= 1)) throw new FrSpecException($"auto tree: decay must be in (0, 1], got {Decay}");
        if (!(WarmStartRounds >= 0 && double.IsFinite(WarmStartRounds))) throw new FrSpecException($"auto tree: warm-start rounds must be 0 or more, got {WarmStartRounds}");
        if (ExplorationRounds < 0) throw new FrSpecException($"auto tree: exploration rounds must be 0 or more, got {ExplorationRounds}");
        if (ProbeAfter < 1 || ProbeAfter > MaxProbeAfter) throw new FrSpecException($"auto tree: probe interval must be in [1, {MaxProbeAfter}] plain tokens, got {ProbeAfter}");
        if (!(ProbeMargin >= 0 && ProbeMargin <= 1)) throw new FrSpecException($"auto tree: probe margin must be in [0, 1], got {ProbeMargin}");
    }
}
