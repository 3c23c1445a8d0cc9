using FrSpec.Generation;

namespace FrSpec.Speculative;

/// <summary>
/// The rule sampled verification applies at each accepted tree node. The product has one implementation,
/// <see cref="ExactAcceptance"/>; the statistical tests inject deliberately wrong ones to show that they can fail.
/// </summary>
internal interface ISampledAcceptance
{
    /// <summary>
    /// Tries the children of <paramref name="node"/> in sibling order against <paramref name="p"/>, the target's processed
    /// distribution at that node, and returns the accepted child or -1. The rule may change p: when no child is accepted
    /// the verifier draws the bonus token from what is left.
    /// </summary>
    int AcceptChild(DraftTree tree, int node, Span<float> p, Rng rng);
}
