using FrSpec.Model;

namespace FrSpec.Speculative;

/// <summary>
/// A small model of the target's family and tokenizer as a draft network (llama.cpp's `-md`, transformers'
/// assistant_model): it reads tokens only, keeps its own KV cache of the accepted sequence, and drafts from its own
/// LM head, cut to the rows it shares with the target and, for FR-Spec, to the frequency subset.
/// </summary>
internal sealed class DraftModelNetwork(Transformer draft, LmHead draftHead) : IDraftNetwork
{
    public int HiddenSize => draft.Config.HiddenSize;
    public DraftFeatures Features => DraftFeatures.None;
    public LmHead DraftHead => draftHead;

    public ForwardState CreateState() => draft.CreateState();
    public KvCache CreateCache(int capacity) => draft.CreateCache(capacity);

    /// <summary>The prompt's first token: pairs cover tokens 1.. only, and a language model must see token 0 too.</summary>
    public void Begin(ForwardState state, KvCache cache, ReadOnlySpan<int> prompt)
    {
        draft.Forward(state, cache, prompt[..1], [0]);
        cache.CommitAll();
    }

    public ReadOnlySpan<float> Forward(ForwardState state, KvCache cache, ReadOnlySpan<int> tokens, ReadOnlySpan<float> features,
        ReadOnlySpan<int> positions, AttentionMask? mask, bool fromTarget) =>
        draft.Forward(state, cache, tokens, positions, mask);

    public ReadOnlySpan<float> HeadInput(ForwardState state, ReadOnlySpan<float> outputs, int n) => outputs[..(n * draft.Config.HiddenSize)];
}
