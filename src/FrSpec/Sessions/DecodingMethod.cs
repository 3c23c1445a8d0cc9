using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Speculative;
using FrSpec.Speculative.AutoTree;

namespace FrSpec.Sessions;

/// <summary>
/// How a session decodes: <see cref="Vanilla"/>, or speculatively with a drafter — <see cref="Eagle"/> (EAGLE-2),
/// <see cref="Eagle3"/>, <see cref="DraftModel"/>, <see cref="Medusa"/> or <see cref="PromptLookup"/>; the ones with an
/// LM head use FR-Spec when given a draft vocabulary. Each method builds its per-session decoder from the shared,
/// immutable parts of a <see cref="LanguageModel"/>. Names: "vanilla", "eagle2", "fr-&lt;V'&gt;", "eagle3", "draft",
/// "medusa" (each FR-Spec variant "&lt;name&gt;-fr-&lt;V'&gt;"), "lookup".
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

    /// <summary>
    /// EAGLE-3 with the head in <paramref name="headDirectory"/> (its own draft vocabulary; with <paramref name="vocabulary"/>,
    /// cut further to the FR-Spec subset) and EAGLE-2's dynamic tree.
    /// </summary>
    public static DecodingMethod Eagle3(string headDirectory, DraftVocabulary? vocabulary = null, TreeOptions? tree = null) =>
        new Eagle3Method(headDirectory, vocabulary, tree ?? TreeOptions.Default);

    /// <summary>
    /// A smaller model sharing the target's tokenizer (a directory or .gguf) drafts a chain (default: llama.cpp's 16
    /// tokens, stopping below probability 0.75) or, with a wider <paramref name="tree"/>, EAGLE-2's dynamic tree; with
    /// <paramref name="vocabulary"/> its LM head keeps only the FR-Spec subset.
    /// </summary>
    public static DecodingMethod DraftModel(string modelPath, DraftVocabulary? vocabulary = null, TreeOptions? tree = null, DraftLimits? limits = null) =>
        new DraftModelMethod(modelPath, vocabulary, tree ?? DraftModelMethod.Chain(DraftModelMethod.DefaultMaxDraft),
            limits ?? DraftModelMethod.DefaultLimits);

    /// <summary>
    /// Medusa-1 heads in <paramref name="headDirectory"/> with a static tree (<see cref="MedusaTree.McSim7b63"/> by
    /// default); with <paramref name="vocabulary"/> every head's LM head keeps only the FR-Spec subset.
    /// <paramref name="typicalAcceptance"/> uses Medusa's typical acceptance when sampling, which is not distribution-exact.
    /// </summary>
    public static DecodingMethod Medusa(string headDirectory, DraftVocabulary? vocabulary = null, MedusaTree? tree = null, bool typicalAcceptance = false) =>
        new MedusaMethod(headDirectory, vocabulary, tree ?? MedusaTree.McSim7b63, typicalAcceptance);

    /// <summary>Prompt lookup (n-gram) drafting from the prompt and the output so far: no weights.</summary>
    public static DecodingMethod PromptLookup(PromptLookupOptions? options = null) => new PromptLookupMethod(options ?? PromptLookupOptions.Default);

    /// <summary>"name" or, with an FR-Spec vocabulary, "name-fr-V'".</summary>
    private protected static string Named(string name, DraftVocabulary? vocabulary) => vocabulary == null ? name : $"{name}-fr-{vocabulary.Count}";

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
