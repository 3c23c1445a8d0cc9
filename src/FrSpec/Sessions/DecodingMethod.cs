using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Speculative;

namespace FrSpec.Sessions;

/// <summary>
/// How a session decodes: <see cref="Vanilla"/>, or speculatively with a drafter (<see cref="Eagle"/>: EAGLE-2, and
/// FR-Spec when given a draft vocabulary). Each method builds its per-session decoder from the shared, immutable parts
/// of a <see cref="LanguageModel"/>; further drafters (EAGLE-3, a draft model, Medusa, prompt lookup) are new records.
/// </summary>
public abstract record DecodingMethod
{
    private protected DecodingMethod() { }

    /// <summary>Short name for reports and answer files: "vanilla", "eagle2", "fr-&lt;V'&gt;".</summary>
    public abstract string Name { get; }

    /// <summary>Plain autoregressive decoding: one target pass per token.</summary>
    public static DecodingMethod Vanilla { get; } = new VanillaMethod();

    /// <summary>
    /// EAGLE-2 with the EAGLE-1/2 head in <paramref name="headDirectory"/>; with <paramref name="vocabulary"/>, FR-Spec
    /// (the draft LM head keeps only those rows). <paramref name="tree"/> defaults to <see cref="TreeOptions.Default"/>.
    /// </summary>
    public static DecodingMethod Eagle(string headDirectory, DraftVocabulary? vocabulary = null, TreeOptions? tree = null) =>
        new EagleMethod(headDirectory, vocabulary, tree ?? TreeOptions.Default);

    /// <summary>The decoder of one session: its caches and scratch are its own, weights come from <paramref name="model"/>.</summary>
    internal abstract IDecoder CreateDecoder(LanguageModel model, ISampledAcceptance? acceptance);
}

/// <summary>Plain autoregressive decoding.</summary>
public sealed record VanillaMethod : DecodingMethod
{
    public override string Name => "vanilla";

    internal override IDecoder CreateDecoder(LanguageModel model, ISampledAcceptance? acceptance) => new VanillaDecoder(model.Target);
}

/// <summary>EAGLE-2 dynamic-tree speculation, FR-Spec when <see cref="Vocabulary"/> is set.</summary>
public sealed record EagleMethod(string HeadDirectory, DraftVocabulary? Vocabulary, TreeOptions Tree) : DecodingMethod
{
    public override string Name => Vocabulary == null ? "eagle2" : $"fr-{Vocabulary.Count}";

    internal override IDecoder CreateDecoder(LanguageModel model, ISampledAcceptance? acceptance)
    {
        Tree.Validate();
        var head = model.EagleHead(HeadDirectory);
        var draftHead = Vocabulary == null ? model.Target.Head : model.DraftHead(Vocabulary);
        return SpeculativeDecoder.Eagle(model.Target, head, draftHead, Tree, Name, acceptance);
    }
}
