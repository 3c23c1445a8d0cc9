using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Speculative;
using FrSpec.Speculative.AutoTree;

namespace FrSpec.Sessions;

/// <summary>
/// How a session decodes: <see cref="Vanilla"/>, or speculatively with a drafter — <see cref="EagleMethod"/> (EAGLE-2),
/// <see cref="Eagle3Method"/>, <see cref="DraftModelMethod"/>, <see cref="Medusa"/> or <see cref="PromptLookup"/>; the ones with an
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
    public static DecodingMethod Eagle(string headDirectory, IReadOnlyList<DraftVocabulary?> vocabularies, AutoTreeOptions? auto = null) =>
        new EagleMethod(headDirectory, First(vocabularies), null) { Candidates = vocabularies, Auto = auto ?? AutoTreeOptions.Default };

    /// <summary>
    /// EAGLE-3 with the head in <paramref name="headDirectory"/> (its own draft vocabulary; with <paramref name="vocabulary"/>,
    /// cut further to the FR-Spec subset) and EAGLE-2's dynamic tree: <paramref name="tree"/> fixes it; null (the default)
    /// lets the automatic tree choose it.
    /// </summary>
    public static DecodingMethod Eagle3(string headDirectory, DraftVocabulary? vocabulary = null, TreeOptions? tree = null) =>
        new Eagle3Method(headDirectory, vocabulary, tree);

    /// <summary>
    /// EAGLE-3 with the automatic tree choosing, besides the tree, the draft vocabulary among <paramref name="vocabularies"/>
    /// (FR-Spec cuts of the head's draft vocabulary; a null entry is the head's own).
    /// </summary>
    public static DecodingMethod Eagle3(string headDirectory, IReadOnlyList<DraftVocabulary?> vocabularies, AutoTreeOptions? auto = null) =>
        new Eagle3Method(headDirectory, First(vocabularies), null) { Candidates = vocabularies, Auto = auto ?? AutoTreeOptions.Default };

    /// <summary>
    /// A smaller model sharing the target's tokenizer (a directory or .gguf) drafts with its own KV cache; with
    /// <paramref name="vocabulary"/> its LM head keeps only the FR-Spec subset. <paramref name="tree"/> fixes the tree (a
    /// chain: <see cref="DraftModelMethod.Chain"/>); null (the default) lets the automatic tree choose within
    /// <paramref name="auto"/>'s bounds, by default chains of up to llama.cpp's 16 tokens
    /// (<see cref="DraftModelMethod.AutoChain"/>; wider bounds grow EAGLE-2's dynamic tree). <paramref name="limits"/>:
    /// llama.cpp's cut-offs (default: stop below probability 0.75).
    /// </summary>
    public static DecodingMethod DraftModel(string modelPath, DraftVocabulary? vocabulary = null, TreeOptions? tree = null, DraftLimits? limits = null,
        AutoTreeOptions? auto = null) =>
        new DraftModelMethod(modelPath, vocabulary, tree, limits ?? DraftModelMethod.DefaultLimits)
        {
            Auto = auto ?? DraftModelMethod.DefaultAuto,
        };

    /// <summary>
    /// A draft model with the automatic tree (within <paramref name="auto"/>'s bounds, as above) also choosing the draft
    /// vocabulary among <paramref name="vocabularies"/> (FR-Spec cuts of its LM head; a null entry is its full head).
    /// </summary>
    public static DecodingMethod DraftModel(string modelPath, IReadOnlyList<DraftVocabulary?> vocabularies, AutoTreeOptions? auto = null, DraftLimits? limits = null) =>
        new DraftModelMethod(modelPath, First(vocabularies), null, limits ?? DraftModelMethod.DefaultLimits)
        {
            Candidates = vocabularies, Auto = auto ?? DraftModelMethod.DefaultAuto,
        };

    /// <summary>
    /// Medusa-1 heads in <paramref name="headDirectory"/> with a static tree (<see cref="MedusaTree.McSim7b63"/> by
    /// default); with <paramref name="vocabulary"/> every head's LM head keeps only the FR-Spec subset.
    /// <paramref name="typicalAcceptance"/> uses Medusa's typical acceptance when sampling, which is not distribution-exact.
    /// </summary>
    public static DecodingMethod Medusa(string headDirectory, DraftVocabulary? vocabulary = null, MedusaTree? tree = null, bool typicalAcceptance = false) =>
        new MedusaMethod(headDirectory, vocabulary, tree ?? MedusaTree.McSim7b63, typicalAcceptance);

    /// <summary>Prompt lookup (n-gram) drafting from the prompt and the output so far: no weights.</summary>
    public static DecodingMethod PromptLookup(PromptLookupOptions? options = null) => new PromptLookupMethod(options ?? PromptLookupOptions.Default);

    /// <summary>"name", with an FR-Spec vocabulary "name-fr-V'", choosing among several "name-fr-auto".</summary>
    private protected static string Named(string name, DraftVocabulary? vocabulary, IReadOnlyList<DraftVocabulary?>? candidates = null) =>
        candidates is { Count: > 1 } ? $"{name}-fr-auto" : vocabulary == null ? name : $"{name}-fr-{vocabulary.Count}";

    /// <summary>The first of the vocabularies an automatic tree chooses among (there must be one).</summary>
    private static DraftVocabulary? First(IReadOnlyList<DraftVocabulary?> vocabularies) => vocabularies.Count > 0 ? vocabularies[0]
        : throw new FrSpecException("the automatic draft vocabulary needs at least one vocabulary to choose from");

    /// <summary>
    /// A dynamic-tree drafter over <paramref name="variants"/> (one network, a draft LM head per vocabulary) with the
    /// automatic tree, its costs measured once per model, <paramref name="draftPath"/> (the head or draft model) and bounds,
    /// and cached in <paramref name="auto"/>'s folder.
    /// </summary>
    private protected static IDecoder AutoDecoder(LanguageModel model, string draftPath, IReadOnlyList<IDraftNetwork> variants, AutoTreeOptions auto,
        string name, ISampledAcceptance? acceptance, DraftLimits? limits = null)
    {
        string? cache = auto.CostCacheDirectory;
        return SpeculativeDecoder.Auto(model.Target, variants, auto, drafter => model.TreeCosts(draftPath, drafter, cache), name, acceptance, limits,
            (names, depths, ranks) => model.Acceptance(draftPath, names, depths, ranks, auto.AcceptanceCacheDirectory));
    }

    /// <summary>A fixed tree drafts with one vocabulary: several to choose among need the automatic tree.</summary>
    private protected static void CheckSingle(IReadOnlyList<DraftVocabulary?>? candidates)
    {
        if (candidates is { Count: > 1 }) throw new FrSpecException("choosing among draft vocabularies needs the automatic tree (no fixed tree)");
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
            CheckSingle(Candidates);
            Tree.Validate();
            return SpeculativeDecoder.Eagle(model.Target, head, DraftHead(model, Vocabulary), Tree, Name, acceptance);
        }
        var networks = (Candidates ?? [Vocabulary]).Select(v => Eagle2Network.For(head, model.Target.Embedding, DraftHead(model, v))).ToArray();
        return AutoDecoder(model, HeadDirectory, networks, Auto, Name, acceptance);
    }

    private static LmHead DraftHead(LanguageModel model, DraftVocabulary? vocabulary) =>
        vocabulary == null ? model.Target.Head : model.DraftHead(vocabulary);
}
