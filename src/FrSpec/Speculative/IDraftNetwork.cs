using FrSpec.Model;

namespace FrSpec.Speculative;

/// <summary>
/// The network <see cref="EagleDrafter"/> grows its dynamic tree with: an EAGLE-1/2 head (<see cref="Eagle2Network"/>), an
/// EAGLE-3 head (<see cref="Eagle3Network"/>) or a small draft model (<see cref="DraftModelNetwork"/>). Each maps
/// (token, feature) rows to output rows of <see cref="HiddenSize"/> floats over a KV cache of its own; an output is
/// both the feature a child is fed with and, through <see cref="HeadInput"/> and <see cref="DraftHead"/>, the source of
/// the children's logits. Stateless: the state and cache belong to the drafter (one per session).
/// </summary>
internal interface IDraftNetwork
{
    /// <summary>Floats per output row (the feature width of tree nodes).</summary>
    int HiddenSize { get; }

    /// <summary>What the network reads from the target per accepted position.</summary>
    DraftFeatures Features { get; }

    /// <summary>The draft LM head: logits over the draft vocabulary, each logit mapped to a target token id.</summary>
    LmHead DraftHead { get; }

    ForwardState CreateState();
    KvCache CreateCache(int capacity);

    /// <summary>
    /// A new sequence: the network may consume the start of the prompt that no (feature, next token) pair covers (a
    /// draft model runs the prompt's first token, which EAGLE heads never see).
    /// </summary>
    void Begin(ForwardState state, KvCache cache, ReadOnlySpan<int> prompt);

    /// <summary>
    /// Runs n rows at the given draft positions; keys and values go to pending slots of <paramref name="cache"/> (mask
    /// over [cache.Length + n] slots; null = causal). <paramref name="fromTarget"/>: the features are the target's
    /// (<see cref="Features"/> wide) rather than this network's own outputs (<see cref="HiddenSize"/> wide). Returns the
    /// outputs [n, HiddenSize], valid until the next pass with <paramref name="state"/>.
    /// </summary>
    ReadOnlySpan<float> Forward(ForwardState state, KvCache cache, ReadOnlySpan<int> tokens, ReadOnlySpan<float> features,
        ReadOnlySpan<int> positions, AttentionMask? mask, bool fromTarget);

    /// <summary>The rows the LM head reads for n outputs (EAGLE-3 applies its final norm; the others read outputs as they are).</summary>
    ReadOnlySpan<float> HeadInput(ForwardState state, ReadOnlySpan<float> outputs, int n);
}
