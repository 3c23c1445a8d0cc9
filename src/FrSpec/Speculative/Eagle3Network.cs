using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Speculative;

/// <summary>
/// An EAGLE-3 head as a draft network: target features are three layer inputs fused by fc, tree nodes feed back the
/// head's pre-norm outputs, and the LM head reads the final-normed output over the draft vocabulary (or its FR-Spec
/// cut). The embedding is the head's own when it ships one, else the target's.
/// </summary>
internal sealed class Eagle3Network(Eagle3Head head, WeightMatrix embedding, LmHead draftHead) : IDraftNetwork
{
    public int HiddenSize => head.HiddenSize;
    public DraftFeatures Features { get; } = new(head.FeatureWidth, head.TargetLayers);
    public LmHead DraftHead => draftHead;

    public ForwardState CreateState() => head.CreateState();
    public KvCache CreateCache(int capacity) => head.CreateCache(capacity);
    public void Begin(ForwardState state, KvCache cache, ReadOnlySpan<int> prompt) { }

    public ReadOnlySpan<float> Forward(ForwardState state, KvCache cache, ReadOnlySpan<int> tokens, ReadOnlySpan<float> features,
        ReadOnlySpan<int> positions, AttentionMask? mask, bool fromTarget) =>
        head.Forward(state, cache, embedding, tokens, features, positions, mask, fromTarget);

    public ReadOnlySpan<float> HeadInput(ForwardState state, ReadOnlySpan<float> outputs, int n) => head.Normed(state, outputs, n);

    /// <summary>The network of a loaded head for a target: the head's embedding or the target's.</summary>
    public static Eagle3Network For(Eagle3Head head, Transformer target, LmHead draftHead)
    {
        var embedding = head.OwnEmbedding ?? target.Embedding;
        if (embedding.Cols != head.HiddenSize || draftHead.Weight.Cols != head.HiddenSize)
            throw new FrSpecException($"EAGLE-3 head hidden size {head.HiddenSize} does not match its embedding ({embedding.Cols}) or LM head ({draftHead.Weight.Cols})");
        return new Eagle3Network(head, embedding, draftHead);
    }
}
