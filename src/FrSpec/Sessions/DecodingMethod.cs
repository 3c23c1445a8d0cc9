using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Speculative;
using FrSpec.Speculative.AutoTree;

namespace FrSpec.Sessions;

/// <summary>
/// How a session decodes: <see cref="Vanilla"/>, or speculatively with a drafter (<see cref="Eagle(string, DraftVocabulary?, TreeOptions?)"/>:
/// EAGLE-2, and FR-Spec when given a draft vocabulary). Each method builds its per-session decoder from the shared,
/// immutable parts of a <see cref="LanguageModel"/>; further drafters (EAGLE-3, a draft model, Medusa, prompt lookup)
/// are new records.
/// </summary>
public abstract record DecodingMethod
{
    private protected DecodingMethod() { }

    /// <summary>Short name for reports and answer files: "vanilla", "eagle2", "fr-&lt;V'&gt;", "fr-auto".</summary>
    public abstract string Name { get; }

    /// <summary>Plain autoregressive decoding: one target pass per token.</summary>
    public static DecodingMethod Vanilla { get; } = new VanillaMethod();

    /// <summary>
    /// EAGLE-2 with the EAGLE-1/2 head in <paramref name="headDirectory"/>; with <paramref name="vocabulary"/>, FR-Spec
    /// (the draft LM head keeps only those rows). <paramref name="tree"/> fixes the tree; null (the default) lets the
    /// automatic tree choose it on this machine (docs/speculative.md, "The automatic tree").
    /// </summary>
    public static DecodingMethod Eagle(string headDirectory, DraftVocabulary? vocabulary = null, TreeOptions? tree = null) =>
        new EagleMethod(headDirectory, vocabulary, tree);

    /// <summary>
    /// EAGLE-2 with the automatic tree choosing, besides the tree, the draft vocabulary among <paramref name="vocabularies"/>
    /// (FR-Spec subsets; a null entry is the full head, i.e. plain EAGLE-2).
    /// </summary>
    public static DecodingMethod Eagle(string headDirectory, IReadOnlyList<DraftVocabulary?> vocabularies, AutoTreeOptions? auto = null)
    {
        if (vocabularies.Count == 0) throw new FrSpecException("the automatic draft vocabulary needs at least one vocabulary to choose from");
        return new EagleMethod(headDirectory, vocabularies[0], null) { Candidates = vocabularies, Auto = auto ?? AutoTreeOptions.Default };
    }

    /// <summary>The decoder of one session: its caches and scratch are its own, weights come from <paramref name="model"/>.</summary>
    internal abstract IDecoder CreateDecoder(LanguageModel model, ISampledAcceptance? acceptance);
}

/// <summary>Plain autoregressive decoding.</summary>
public sealed record VanillaMethod : DecodingMethod
{
    public override string Name => "vanilla";

    internal override IDecoder CreateDecoder(LanguageModel model, ISampledAcceptance? acceptance) => new VanillaDecoder(model.Target);
}

/// <summary>
/// EAGLE-2 dynamic-tree speculation, FR-Spec when <see cref="Vocabulary"/> is set. <see cref="Tree"/> null: the automatic
/// tree (<see cref="Auto"/>); with <see cref="Candidates"/> it also chooses the draft vocabulary among them.
/// </summary>
public sealed record EagleMethod(string HeadDirectory, DraftVocabulary? Vocabulary, TreeOptions? Tree) : DecodingMethod
{
    /// <summary>Draft vocabularies the automatic tree chooses among (null entry = the full head); null = just <see cref="Vocabulary"/>.</summary>
    public IReadOnlyList<DraftVocabulary?>? Candidates { get; init; }

    /// <summary>Settings of the automatic tree (used when <see cref="Tree"/> is null).</summary>
    public AutoTreeOptions Auto { get; init; } = AutoTreeOptions.Default;

    public override string Name => Candidates is { Count: > 1 } ? "fr-auto" : Vocabulary == null ? "eagle2" : $"fr-{Vocabulary.Count}";

    internal override IDecoder CreateDecoder(LanguageModel model, ISampledAcceptance? acceptance)
    {
        var head = model.EagleHead(HeadDirectory);
        if (Tree != null)
        {
            if (Candidates is { Count: > 1 }) throw new FrSpecException("choosing among draft vocabularies needs the automatic tree (no fixed tree)");
            Tree.Validate();
            return SpeculativeDecoder.Eagle(model.Target, head, DraftHead(model, Vocabulary), Tree, Name, acceptance);
        }
        var vocabularies = Candidates ?? [Vocabulary];
        var heads = vocabularies.Select(v => DraftHead(model, v)).ToArray();
        string? cache = Auto.CostCacheDirectory;
        return SpeculativeDecoder.AutoEagle(model.Target, head, heads, vocabularies, Auto,
            drafter => model.TreeCosts(HeadDirectory, drafter, cache), Name, acceptance);
    }

    private static LmHead DraftHead(LanguageModel model, DraftVocabulary? vocabulary) =>
        vocabulary == null ? model.Target.Head : model.DraftHead(vocabulary);
}
