using System.Numerics.Tensors;
using FrSpec.Generation;
using FrSpec.Numerics;

namespace FrSpec.Speculative;

/// <summary>
/// Medusa's typical acceptance (docs/formats.md, "Medusa acceptance"), NOT distribution-exact: with p the target's
/// softmax at the sampling temperature, a drafted token x passes at its parent when p(x) > min(ε, α·exp(−H(p))), H the
/// entropy. The longest root-to-node chain of passing tokens is accepted (ties: the larger summed log p), and the next
/// token is the target's argmax there, as Medusa's default "fast" mode does. Greedy decoding is exact as usual. Used
/// only when asked for; output then differs in law from plain sampling, and reports say so.
/// </summary>
internal sealed class TypicalAcceptor : ITreeAcceptor
{
    /// <summary>Medusa's defaults: posterior_threshold ε = 0.09, posterior_alpha α = 0.3 (≈ √ε).</summary>
    public const float DefaultThreshold = 0.09f, DefaultAlpha = 0.3f;

    private readonly TreeVerifier _greedy;
    private readonly float _threshold, _alpha;
    private readonly float[] _probs;
    private readonly int[] _depthOf, _stack;
    private readonly float[] _score;

    public TypicalAcceptor(int vocab, int maxNodes, float threshold = DefaultThreshold, float alpha = DefaultAlpha)
    {
        if (!(threshold > 0 && threshold < 1)) throw new FrSpecException($"typical acceptance threshold must be in (0, 1), got {threshold}");
        if (!(alpha > 0)) throw new FrSpecException($"typical acceptance alpha must be positive, got {alpha}");
        _greedy = new TreeVerifier(vocab);
        _threshold = threshold; _alpha = alpha;
        _probs = new float[vocab];
        _depthOf = new int[maxNodes]; _stack = new int[maxNodes]; _score = new float[maxNodes];
    }

    public int Accept(DraftTree tree, NodeLogits logits, Sampler sampler, Span<int> path, out int bonus)
    {
        if (sampler.Options.IsGreedy) return _greedy.Accept(tree, logits, sampler, path, out bonus);
        float temperature = sampler.Options.Temperature;
        // Depth-first over passing nodes only: a node's children are judged against its own distribution.
        int best = 0, top = 0;
        _depthOf[0] = 0; _score[0] = 0;
        _stack[top++] = 0;
        while (top > 0)
        {
            int node = _stack[--top];
            if (tree.FirstChild[node] < 0) continue;
            float limit = Distribution(logits.Row(node), temperature);
            for (int c = tree.FirstChild[node]; c >= 0; c = tree.NextSibling[c])
            {
                float px = _probs[tree.Tokens[c]];
                if (!(px > limit)) continue;
                _depthOf[c] = _depthOf[node] + 1;
                _score[c] = _score[node] + MathF.Log(px);
                if (_depthOf[c] > _depthOf[best] || (_depthOf[c] == _depthOf[best] && _score[c] > _score[best])) best = c;
                _stack[top++] = c;
            }
        }
        int length = _depthOf[best] + 1;
        for (int i = length - 1, n = best; i >= 0; i--, n = tree.Parents[n]) path[i] = n;
        bonus = TensorPrimitives.IndexOfMax(logits.Row(best));
        return length;
    }

    /// <summary>softmax(logits / T) into the scratch; returns the acceptance limit min(ε, α·exp(−H)).</summary>
    private float Distribution(ReadOnlySpan<float> logits, float temperature)
    {
        var p = _probs.AsSpan(0, logits.Length);
        Ops.ScaledExp(logits, 1f / temperature, p);
        TensorPrimitives.Multiply(p, 1f / TensorPrimitives.Sum(p), p);
        double entropy = 0;
        foreach (float x in p) if (x > 0) entropy -= x * Math.Log(x + 1e-5); // Medusa's entropy, with its 1e-5
        return MathF.Min(_threshold, _alpha * (float)Math.Exp(-entropy));
    }
}
