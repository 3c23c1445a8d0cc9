using System.Numerics.Tensors;
using FrSpec.Generation;

namespace FrSpec.Speculative;

/// <summary>
/// Walks a verified draft tree with the target's logits for every node and decides what the target emits
/// (formats.md §1.6). Greedy: follow the child equal to the target's argmax until none matches; the argmax there is the
/// bonus. Sampling: at each accepted node try the children in order, accepting child x with probability p(x) under the
/// target's processed distribution p, zeroing and renormalising p after each rejection; the bonus comes from the residual
/// (all children rejected) or from the fresh p at a leaf. This reproduces p exactly (docs/exactness.md).
/// </summary>
internal sealed class TreeVerifier
{
    private readonly int _vocab;
    private readonly float[] _probs;
    public AcceptanceRule Rule { get; set; } = AcceptanceRule.Exact;

    public TreeVerifier(int vocab)
    {
        _vocab = vocab;
        _probs = new float[vocab];
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
            int accepted = -1;
            for (int c = tree.FirstChild[node]; c >= 0; c = tree.NextSibling[c])
            {
                int x = tree.Tokens[c];
                if (Rule == AcceptanceRule.AcceptFirstChild) { accepted = c; break; }
                float px = p[x];
                if (px <= 0f) continue; // cannot be accepted; p is unchanged by trying it
                if (sampler.Rng.NextDouble() < px) { accepted = c; break; }
                if (Rule == AcceptanceRule.ForgetResidual) continue;
                p[x] = 0f;
                float rest = TensorPrimitives.Sum(p);
                if (!(rest > 0f)) { accepted = c; break; } // only reachable through rounding when p(x) ≈ 1
                TensorPrimitives.Multiply(p, 1f / rest, p);
            }
            if (accepted < 0) { bonus = sampler.Draw(p); return length; }
            path[length++] = node = accepted;
        }
    }
}
