namespace FrSpec.Speculative;

/// <summary>
/// A drafter the automatic tree (<see cref="AutoTree.TreeTuner"/>) can steer: it switches between draft LM heads
/// (variants, e.g. the full head and FR-Spec subsets) and tree shapes within fixed bounds from one round to the next,
/// and it can time one of its own draft steps. Its trees should record ranked candidates
/// (<see cref="DraftTree.SetCandidates"/>) so that acceptance can be learned per depth and rank.
/// </summary>
internal interface ITunableDrafter : IDrafter
{
    /// <summary>The largest tree the drafter's buffers hold (allocated once).</summary>
    TreeOptions Bounds { get; }

    /// <summary>Draft vocabulary size V' of each variant, in variant order.</summary>
    IReadOnlyList<int> VariantSizes { get; }

    /// <summary>
    /// Uses this tree shape (<see cref="TreeOptions"/>' depth, top-k and total tokens, within <see cref="Bounds"/>) and
    /// variant from the next <see cref="IDrafter.Draft"/> on. Plain numbers rather than a <see cref="TreeOptions"/>, so
    /// that the automatic tree can switch plans mid-generation without allocating.
    /// </summary>
    void Configure(int depth, int topK, int totalTokens, int variant);

    /// <summary>
    /// Runs and times one draft step over <paramref name="rows"/> frontier rows with <paramref name="variant"/>'s LM head:
    /// seconds in the draft layers, and in the LM head including log-softmax and top-k. Only between
    /// <see cref="IDrafter.Extend"/> and the next <see cref="IDrafter.Begin"/>; changes no drafting state.
    /// </summary>
    (double Layer, double Head) TimeStep(int variant, int rows);
}
