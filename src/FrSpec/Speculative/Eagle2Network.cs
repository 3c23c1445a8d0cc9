using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Speculative;

/// <summary>
/// An EAGLE-1/2 head as a draft network: fc([embedding | feature]) and one layer, the target's embedding and final-norm
/// features, outputs read by the LM head as they are (docs/formats.md, "Draft forward").
/// </summary>
internal sealed class Eagle2Network(EagleHead head, WeightMatrix targetEmbedding, LmHead draftHead) : IDraftNetwork
{
    public int HiddenSize => head.HiddenSize;
    public DraftFeatures Features { get; } = DraftFeatures.FinalHidden(head.HiddenSize);
    public LmHead DraftHead => draftHead;

    public ForwardState CreateState() => head.CreateState();
    public KvCache CreateCache(int capacity) => head.CreateCache(capacity);
    public void Begin(ForwardState state, KvCache cache, ReadOnlySpan<int> prompt) { }

    public ReadOnlySpan<float> Forward(ForwardState state, KvCache cache, ReadOnlySpan<int> tokens, ReadOnlySpan<float> features,
        ReadOnlySpan<int> positions, AttentionMask? mask, bool fromTarget) =>
        head.Forward(state, cache, targetEmbedding, tokens, features, positions, mask);

    public ReadOnlySpan<float> HeadInput(ForwardState state, ReadOnlySpan<float> outputs, int n) => outputs[..(n * head.HiddenSize)];

    /// <summary>Checks that the head fits the target it drafts for.</summary>
    public static Eagle2Network For(EagleHead head, WeightMatrix targetEmbedding, LmHead draftHead)
    {
        if (targetEmbedding.Cols != head.HiddenSize || draftHead.Weight.Cols != head.HiddenSize)
            throw new FrSpecException($"EAGLE head hidden size {head.HiddenSize} does not match the target's {targetEmbedding.Cols}");
        return new Eagle2Network(head, targetEmbedding, draftHead);
    }
}
