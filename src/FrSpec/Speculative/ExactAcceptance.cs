using System.Numerics.Tensors;
using FrSpec.Generation;

namespace FrSpec.Speculative;

/// <summary>
/// EAGLE-2's acceptance with a deterministic draft (q = 1): accept child x with probability p(x); on rejection set
/// p(x) = 0, renormalise and try the next sibling. The bonus comes from what is left, so every emitted token follows
/// the target's p exactly (docs/exactness.md).
/// </summary>
internal sealed class ExactAcceptance : ISampledAcceptance
{
    public static ExactAcceptance Instance { get; } = new();

    private ExactAcceptance() { }

    public int AcceptChild(DraftTree tree, int node, Span<float> p, Rng rng)
    {
        for (int c = tree.FirstChild[node]; c >= 0; c = tree.NextSibling[c])
        {
            int x = tree.Tokens[c];
            float px = p[x];
            if (px <= 0f) continue; // cannot be accepted; p is unchanged by trying it
            if (rng.NextDouble() < px) return c;
            p[x] = 0f;
            float rest = TensorPrimitives.Sum(p);
            if (!(rest > 0f)) return c; // only reachable through rounding when p(x) ≈ 1
            TensorPrimitives.Multiply(p, 1f / rest, p);
        }
        return -1;
    }
}
