using FrSpec.Generation;

namespace FrSpec.Speculative;

/// <summary>
/// Decides what the target emits from a verified tree: the accepted path and the bonus token. The product's is
/// <see cref="TreeVerifier"/> (greedy, or the exact sampled rule); Medusa's typical acceptance
/// (<see cref="TypicalAcceptor"/>) is the one that is not distribution-exact, used only when asked for.
/// </summary>
internal interface ITreeAcceptor
{
    /// <summary>
    /// Writes the accepted path (node indices from the root) into <paramref name="path"/> and returns its length (≥ 1:
    /// the root is always kept); <paramref name="bonus"/> is the token the target adds after the path.
    /// </summary>
    int Accept(DraftTree tree, NodeLogits logits, Sampler sampler, Span<int> path, out int bonus);
}
