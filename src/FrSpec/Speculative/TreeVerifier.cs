using System.Numerics.Tensors;
using FrSpec.Generation;

namespace FrSpec.Speculative;

/// <summary>
/// Walks a verified draft tree with the target's logits for every node and decides what the target emits
/// (docs/formats.md, "Verification and acceptance"). Greedy: follow the child equal to the target's argmax until none
/// matches; the argmax there is the bonus. Sampling: at each accepted node the acceptance rule (the product's is
/// <see cref="ExactAcceptance"/>) tries the children against the target's processed distribution p; the bonus comes
/// from what is left of p (all children rejected) or from the fresh p at a leaf. This reproduces p exactly
/// (docs/exactness.md).
/// </summary>
internal sealed class TreeVerifier : ITreeAcceptor
{
    private readonly float[] _probs;
    private readonly ISampledAcceptance _acceptance;

    public TreeVerifier(int vocab, ISampledAcceptance? acceptance = null)
    {
        _probs = new float[vocab];
        _acceptance = acceptance ?? ExactAcceptance.Instance;
    }

    /// <summary>
    /// Writes the accepted path (node indices from the root) into <paramref name="path"/> and returns its length
    /// (≥ 1: the root is always kept); <paramref name="bonus"/> is the token the target adds after the path.
    /// <paramref name="logits"/> gives the target's logits of any node.
    /// </summary>
    public int Accept(DraftTree tree, NodeLogits logits, Sampler sampler, Span<int> path, out int bonus)
    {
        int node = 0, length = 0;
        path[length++] = 0;
        if (sampler.Options.IsGreedy)
        {
            while (true)
            {
                int best = TensorPrimitives.IndexOfMax(logits.Row(node));
                int match = -1;
                for (int c = tree.FirstChild[node]; c >= 0; c = tree.NextSibling[c])
                    if (tree.Tokens[c] == best) { match = c; break; }
                if (match < 0) { bonus = best; return length; }
                path[length++] = node = match;
            }
        }

        var p = _probs.AsSpan();
        while (true)
        {
            sampler.Distribution(logits.Row(node), p);
            int accepted = _acceptance.AcceptChild(tree, node, p, sampler.Rng);
            if (accepted < 0) { bonus = sampler.Draw(p); return length; }
            path[length++] = node = accepted;
        }
    }
}
