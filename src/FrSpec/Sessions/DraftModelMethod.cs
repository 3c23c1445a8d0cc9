using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Speculative;
using FrSpec.Speculative.AutoTree;

namespace FrSpec.Sessions;

/// <summary>
/// A draft model (a smaller model with the target's tokenizer) drafting a chain or EAGLE-2's dynamic tree with its own
/// KV cache, its LM head cut to <see cref="Vocabulary"/> (FR-Spec) when set, under llama.cpp-style <see cref="Limits"/>.
/// <see cref="Tree"/> null: the automatic tree within <see cref="Auto"/>'s bounds (top-k 1: the chain's length is
/// chosen); with <see cref="Candidates"/> it also chooses the draft vocabulary among them.
/// </summary>
public sealed record DraftModelMethod(string ModelPath, DraftVocabulary? Vocabulary, TreeOptions? Tree, DraftLimits Limits) : DecodingMethod
{
    /// <summary>llama.cpp's defaults: --draft-max 16, --draft-min 0, --draft-p-min 0.75.</summary>
    public const int DefaultMaxDraft = 16;
    public static DraftLimits DefaultLimits { get; } = new() { MinProbability = 0.75f };

    /// <summary>Draft vocabularies the automatic tree chooses among (null entry = the full head); null = just <see cref="Vocabulary"/>.</summary>
    public IReadOnlyList<DraftVocabulary?>? Candidates { get; init; }

    /// <summary>The automatic tree's default for a draft model: chains of up to llama.cpp's 16 tokens.</summary>
    public static AutoTreeOptions DefaultAuto { get; } = AutoChain(DefaultMaxDraft, AutoTreeOptions.Default);

    /// <summary>Settings of the automatic tree (used when <see cref="Tree"/> is null): by default <see cref="DefaultAuto"/>.</summary>
    public AutoTreeOptions Auto { get; init; } = DefaultAuto;

    /// <summary>A chain of up to <paramref name="maxDraft"/> drafted tokens: the dynamic tree with one child per node.</summary>
    public static TreeOptions Chain(int maxDraft)
    {
        if (maxDraft < 1 || maxDraft > 33) throw new FrSpecException($"--draft-max must be in [1, 33], got {maxDraft}");
        return new TreeOptions { Depth = maxDraft - 1, TopK = 1, TotalTokens = maxDraft + 1 };
    }

    /// <summary>
    /// The automatic tree restricted to chains of at most <paramref name="maxDraft"/> drafted tokens (top-k 1): it
    /// chooses the chain's length from measured costs and observed acceptance, or plain decoding. Other settings (cost
    /// cache, re-planning) from <paramref name="auto"/>.
    /// </summary>
    public static AutoTreeOptions AutoChain(int maxDraft, AutoTreeOptions auto)
    {
        var chain = Chain(maxDraft);
        return auto with { MaxDepth = chain.Depth, MaxTopK = 1, MaxTotalTokens = chain.TotalTokens };
    }

    public override string Name => Named("draft", Vocabulary, Candidates);

    internal override IDecoder CreateDecoder(LanguageModel model, ISampledAcceptance? acceptance)
    {
        Limits.Validate();
        var draft = model.DraftModel(ModelPath);
        DraftModelNetwork Network(DraftVocabulary? v) => new(draft.Target, model.DraftModelHead(ModelPath, v));
        if (Tree == null) return AutoDecoder(model, ModelPath, (Candidates ?? [Vocabulary]).Select(Network).ToArray(), Auto, Name, acceptance, Limits);
        CheckSingle(Candidates);
        Tree.Validate();
        return new SpeculativeDecoder(model.Target, new EagleDrafter(Network(Vocabulary), Tree, 512, Limits), Name, acceptance);
    }
}
