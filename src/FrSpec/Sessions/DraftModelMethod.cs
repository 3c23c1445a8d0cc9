using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Speculative;

namespace FrSpec.Sessions;

/// <summary>
/// A draft model (a smaller model with the target's tokenizer) drafting a chain or EAGLE-2's dynamic tree with its own
/// KV cache, its LM head cut to <see cref="Vocabulary"/> (FR-Spec) when set, under llama.cpp-style <see cref="Limits"/>.
/// </summary>
public sealed record DraftModelMethod(string ModelPath, DraftVocabulary? Vocabulary, TreeOptions Tree, DraftLimits Limits) : DecodingMethod
{
    /// <summary>llama.cpp's defaults: --draft-max 16, --draft-min 0, --draft-p-min 0.75.</summary>
    public const int DefaultMaxDraft = 16;
    public static DraftLimits DefaultLimits { get; } = new() { MinProbability = 0.75f };

    /// <summary>A chain of up to <paramref name="maxDraft"/> drafted tokens: the dynamic tree with one child per node.</summary>
    public static TreeOptions Chain(int maxDraft)
    {
        if (maxDraft < 1 || maxDraft > 33) throw new FrSpecException($"--draft-max must be in [1, 33], got {maxDraft}");
        return new TreeOptions { Depth = maxDraft - 1, TopK = 1, TotalTokens = maxDraft + 1 };
    }

    public override string Name => Named("draft", Vocabulary);

    internal override IDecoder CreateDecoder(LanguageModel model, ISampledAcceptance? acceptance)
    {
        Tree.Validate();
        Limits.Validate();
        var draft = model.DraftModel(ModelPath);
        var network = new DraftModelNetwork(draft.Target, model.DraftModelHead(ModelPath, Vocabulary));
        return new SpeculativeDecoder(model.Target, new EagleDrafter(network, Tree, 512, Limits), Name, acceptance);
    }
}
