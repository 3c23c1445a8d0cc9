using System.Numerics;
using FrSpec.Numerics;

namespace FrSpec.Model;

/// <summary>
/// NaN and ∞ in activations: a vectorised check of a pass's final output (the only cost on the hot path), and, when it
/// fails, a diagnostic re-run of the same pass layer by layer that names where non-finite values first appear
/// (an embedding row, a decoder layer, the final norm). Weights with NaN/∞ or activations that overflow would otherwise
/// turn into silently wrong tokens or NaN scores.
/// </summary>
internal static class NonFinite
{
    /// <summary>True when every value is finite: x − x is 0 for a finite x and NaN for NaN or ±∞.</summary>
    public static bool AllFinite(ReadOnlySpan<float> x)
    {
        var acc = Vector<float>.Zero;
        int i = 0, w = Vector<float>.Count;
        for (; i + w <= x.Length; i += w)
        {
            var v = new Vector<float>(x.Slice(i, w));
            acc += v - v;
        }
        float s = Vector.Sum(acc);
        for (; i < x.Length; i++) s += x[i] - x[i];
        return s == 0;
    }

    /// <summary>
    /// Re-runs the pass whose output was not finite (same tokens, rope tables, cache slots and mask), checking the
    /// residual stream after the embedding and after every layer, and returns the error naming the first place.
    /// </summary>
    public static FrSpecException Locate(Transformer m, ForwardBuffers b, KvCache cache, ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions,
        int firstSlot, AttentionMask mask)
    {
        var c = m.Config;
        int n = tokens.Length, hidden = c.HiddenSize;
        string at = n == 1 ? $"the token at position {positions[0]}" : $"{n} tokens at positions {positions[0]}..{positions[n - 1]}";
        for (int t = 0; t < n; t++)
        {
            var row = b.X.AsSpan(t * hidden, hidden);
            m.Embedding.ReadRow(tokens[t], row);
            if (!AllFinite(row))
                return new($"{m.Directory}: row {tokens[t]} of the embedding (model.embed_tokens.weight) holds NaN or infinite values");
        }
        for (int l = 0; l < m.Layers.Count; l++)
        {
            m.Layers[l].Forward(m.Compute, b, n, cache, l, firstSlot, mask);
            if (!AllFinite(b.X.AsSpan(0, n * hidden)))
                return new($"{m.Directory}: NaN or infinite values first appear in layer {l} (model.layers.{l}.*) for {at}: that layer's weights hold NaN/∞ or its activations overflow");
        }
        return new($"{m.Directory}: the final norm (model.norm.weight) turns finite hidden states into NaN or infinite values for {at}");
    }

    /// <summary>The error for non-finite logits of <paramref name="head"/>, telling bad weights from bad inputs.</summary>
    public static FrSpecException Logits(LmHead head, ReadOnlySpan<float> hidden) => new(AllFinite(hidden)
        ? $"the {(head.TokenIds is null ? "LM head (lm_head.weight, or the embedding when tied)" : "FR-Spec draft head (rows of the LM head)")} produces NaN or infinite logits from finite hidden states: its weights hold NaN/∞ or overflow"
        : "NaN or infinite hidden states reached the LM head (a draft head's weights hold NaN/∞?)");
}
