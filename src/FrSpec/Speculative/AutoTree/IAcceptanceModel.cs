namespace FrSpec.Speculative.AutoTree;

/// <summary>What the planner needs to know about acceptance: per draft vocabulary, depth and rank, the chance that the target's token is that candidate.</summary>
internal interface IAcceptanceModel
{
    /// <summary>
    /// Writes p[d·ranks + r]: the probability that the token the target emits after an accepted node at depth d (0 = the
    /// root) is that node's rank-r draft candidate, when drafting with <paramref name="variant"/>.
    /// </summary>
    void Estimate(int variant, Span<double> p);
}
