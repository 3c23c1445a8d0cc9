using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Speculative.AutoTree;

namespace FrSpec.Benchmarks;

/// <summary>
/// What each drafter needs besides the target, as the CLI's flags give it (generate, bench spec, demo, serve): head
/// directories, the draft model, tree settings and limits. <see cref="Method"/> turns a drafter kind and an optional
/// FR-Spec vocabulary into the engine's <see cref="DecodingMethod"/>, with a one-line error naming the missing flag.
/// </summary>
public sealed record DrafterInputs
{
    /// <summary>--eagle: an EAGLE-1/2 head, or an EAGLE-3 head (told apart by its config.json).</summary>
    public string? Eagle { get; init; }
    /// <summary>--draft-model: a model directory or .gguf with the target's tokenizer.</summary>
    public string? DraftModel { get; init; }
    /// <summary>--medusa: a Medusa head directory.</summary>
    public string? Medusa { get; init; }
    /// <summary>
    /// --tree-depth/--tree-topk/--tree-tokens: a fixed EAGLE-2 dynamic tree (EAGLE-2/3; a draft model with --draft-tree;
    /// a draft model's chain is then exactly <see cref="DraftMax"/> long). Null (--tree auto, the default): every tree
    /// drafter uses the automatic tree (a draft model's chain: its length chosen up to <see cref="DraftMax"/>).
    /// </summary>
    public TreeOptions? Tree { get; init; }
    /// <summary>The automatic tree's settings (tree drafters without a fixed <see cref="Tree"/>).</summary>
    public AutoTreeOptions Auto { get; init; } = AutoTreeOptions.Default;
    /// <summary>--draft-tree: the draft model grows <see cref="Tree"/> instead of a chain of <see cref="DraftMax"/>.</summary>
    public bool DraftTree { get; init; }
    /// <summary>--draft-max: the chain's length (llama.cpp's default 16).</summary>
    public int DraftMax { get; init; } = DraftModelMethod.DefaultMaxDraft;
    /// <summary>--draft-min and --draft-p-min (llama.cpp's defaults 0 and 0.75).</summary>
    public DraftLimits DraftLimits { get; init; } = DraftModelMethod.DefaultLimits;
    /// <summary>--medusa-choices (default mc_sim_7b_63), cut to --medusa-nodes when given.</summary>
    public MedusaTree? MedusaTree { get; init; }
    /// <summary>--typical: Medusa's typical acceptance when sampling (not distribution-exact).</summary>
    public bool Typical { get; init; }
    /// <summary>--lookup-ngram / --lookup-min-ngram / --lookup-tokens.</summary>
    public PromptLookupOptions Lookup { get; init; } = PromptLookupOptions.Default;

    /// <summary>The kind an --eagle directory holds: EAGLE-3 when its config says so, else EAGLE-1/2.</summary>
    public MethodKind EagleKind => Eagle != null && Eagle3Head.IsEagle3Directory(Eagle) ? MethodKind.Eagle3 : MethodKind.Eagle2;

    /// <summary>The drafters these inputs make possible, in report order (EAGLE first, prompt lookup last).</summary>
    public IReadOnlyList<MethodKind> Available()
    {
        var kinds = new List<MethodKind>();
        if (Eagle != null) kinds.Add(EagleKind);
        if (DraftModel != null) kinds.Add(MethodKind.DraftModel);
        if (Medusa != null) kinds.Add(MethodKind.Medusa);
        return kinds;
    }

    /// <summary>The decoding method of drafter <paramref name="kind"/>, FR-Spec when <paramref name="vocabulary"/> is set.</summary>
    public DecodingMethod Method(MethodKind kind, DraftVocabulary? vocabulary)
    {
        if (vocabulary != null && !MethodSpec.HasLmHead(kind)) throw new FrSpecException($"--fr/--fr-size: {kind} drafting has no draft LM head to cut");
        return kind switch
        {
            MethodKind.Vanilla => DecodingMethod.Vanilla,
            MethodKind.Eagle2 or MethodKind.FrSpec => Tree != null ? DecodingMethod.Eagle(EagleDir(MethodKind.Eagle2), vocabulary, Tree)
                : DecodingMethod.Eagle(EagleDir(MethodKind.Eagle2), [vocabulary], Auto),
            MethodKind.Eagle3 => Tree != null ? DecodingMethod.Eagle3(EagleDir(MethodKind.Eagle3), vocabulary, Tree)
                : DecodingMethod.Eagle3(EagleDir(MethodKind.Eagle3), [vocabulary], Auto),
            MethodKind.DraftModel => DecodingMethod.DraftModel(Need(DraftModel, "draft", "--draft-model DIR_OR_GGUF"), vocabulary,
                Tree == null ? null : DraftTree ? Tree : DraftModelMethod.Chain(DraftMax), DraftLimits, DraftAuto),
            MethodKind.Medusa => DecodingMethod.Medusa(Need(Medusa, "medusa", "--medusa DIR"), vocabulary, MedusaTree, Typical),
            _ => DecodingMethod.PromptLookup(Lookup),
        };
    }

    /// <summary>
    /// The automatic tree choosing the draft vocabulary among <paramref name="vocabularies"/> (null entry: the drafter's
    /// own head) besides the tree: EAGLE-2 ("fr-auto"), EAGLE-3 and a draft model ("NAME-fr-auto"). Medusa's tree is
    /// static and prompt lookup has no LM head, so neither chooses.
    /// </summary>
    public DecodingMethod AutoVocabularyMethod(MethodKind kind, IReadOnlyList<DraftVocabulary?> vocabularies)
    {
        if (Tree != null) throw new FrSpecException("choosing the draft vocabulary (--fr-size auto) needs the automatic tree: leave out --tree fixed and --tree-depth/--tree-topk/--tree-tokens");
        return kind switch
        {
            MethodKind.Eagle2 or MethodKind.FrSpec or MethodKind.FrAuto => DecodingMethod.Eagle(EagleDir(MethodKind.Eagle2), vocabularies, Auto),
            MethodKind.Eagle3 => DecodingMethod.Eagle3(EagleDir(MethodKind.Eagle3), vocabularies, Auto),
            MethodKind.DraftModel => DecodingMethod.DraftModel(Need(DraftModel, "draft", "--draft-model DIR_OR_GGUF"), vocabularies, DraftAuto, DraftLimits),
            _ => throw new FrSpecException($"--fr-size auto: {kind} drafting has no automatic tree to choose the draft vocabulary (EAGLE-2, EAGLE-3 and draft models have)"),
        };
    }

    /// <summary>The draft model's automatic tree: EAGLE-2's bounds with --draft-tree, else chains of up to --draft-max.</summary>
    private AutoTreeOptions DraftAuto => DraftTree ? Auto : DraftModelMethod.AutoChain(DraftMax, Auto);

    /// <summary>--eagle, checked to hold the head kind <paramref name="kind"/> asks for.</summary>
    private string EagleDir(MethodKind kind) => kind == MethodKind.Eagle3
        ? EagleKind != MethodKind.Eagle3 && Eagle != null
            ? throw new FrSpecException($"--eagle {Eagle}: not an EAGLE-3 head (its config.json has no draft_vocab_size); use --method eagle2")
            : Need(Eagle, "eagle3", "--eagle DIR")
        : EagleKind == MethodKind.Eagle3
            ? throw new FrSpecException($"--eagle {Eagle}: this is an EAGLE-3 head; use --method eagle3")
            : Need(Eagle, "eagle2", "--eagle DIR");

    private static string Need(string? value, string method, string flag) => value ?? throw new FrSpecException($"method {method} needs {flag}");
}
