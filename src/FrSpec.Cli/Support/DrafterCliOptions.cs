using System.CommandLine;
using FrSpec.Benchmarks;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;

namespace FrSpec.Cli.Support;

/// <summary>
/// The drafter flags that generate, bench spec, demo and serve share: --eagle (EAGLE-1/2/3), --draft-model with
/// llama.cpp's --draft-max/--draft-min/--draft-p-min, --medusa with --medusa-choices, prompt lookup's settings and the
/// tree settings; read into a <see cref="DrafterInputs"/>. docs/speculative.md lists them.
/// </summary>
internal sealed class DrafterCliOptions
{
    public Option<string?> Eagle { get; } = new("--eagle") { Description = "EAGLE-1/2 or EAGLE-3 head directory (told apart by its config.json)" };
    public Option<string?> DraftModel { get; } = new("--draft-model") { Description = "Draft model directory or .gguf sharing the target's tokenizer (llama.cpp's -md)" };
    public Option<int> DraftMax { get; } = new("--draft-max") { Description = "Draft model: most tokens drafted per round (a chain, as llama.cpp's -md drafts: the automatic tree chooses its length up to this, --tree fixed drafts exactly this; --draft-tree grows EAGLE-2's tree instead)", DefaultValueFactory = _ => DraftModelMethod.DefaultMaxDraft };
    public Option<int> DraftMin { get; } = new("--draft-min") { Description = "Draft model: a shorter draft is not verified (the round decodes one token)", DefaultValueFactory = _ => 0 };
    public Option<float> DraftPMin { get; } = new("--draft-p-min") { Description = "Draft model: stop drafting at a token whose draft probability is below this", DefaultValueFactory = _ => DraftModelMethod.DefaultLimits.MinProbability };
    public Option<bool> DraftTree { get; } = new("--draft-tree") { Description = "Draft model: grow EAGLE-2's dynamic tree (--tree-*) instead of a chain" };
    public Option<string?> Medusa { get; } = new("--medusa") { Description = "Medusa-1 head directory (medusa_lm_head.safetensors or .pt, config.json)" };
    public Option<string?> MedusaChoices { get; } = new("--medusa-choices") { Description = "Medusa's static tree as a JSON list of paths (default: mc_sim_7b_63); static because each head guesses a fixed offset ahead, so no tree is grown per round" };
    public Option<int?> MedusaNodes { get; } = new("--medusa-nodes") { Description = "Medusa: keep the first N paths of the tree's list (a smaller tree)" };
    public Option<bool> Typical { get; } = new("--typical") { Description = "Medusa: typical acceptance when sampling (faster, NOT distribution-exact; the method is named medusa-typical)" };
    public Option<int> LookupNgram { get; } = new("--lookup-ngram") { Description = "Prompt lookup: longest n-gram matched", DefaultValueFactory = _ => PromptLookupOptions.Default.MaxNgram };
    public Option<int> LookupMinNgram { get; } = new("--lookup-min-ngram") { Description = "Prompt lookup: shortest n-gram matched", DefaultValueFactory = _ => PromptLookupOptions.Default.MinNgram };
    public Option<int> LookupTokens { get; } = new("--lookup-tokens") { Description = "Prompt lookup: tokens drafted after a match", DefaultValueFactory = _ => PromptLookupOptions.Default.DraftTokens };
    /// <summary>--tree auto (the default) or a fixed tree from --tree-depth/--tree-topk/--tree-tokens.</summary>
    public CliTreeOptions Tree { get; } = new();

    /// <summary>Every option, for adding to a command.</summary>
    public IEnumerable<Option> All =>
    [
        Eagle, DraftModel, DraftMax, DraftMin, DraftPMin, DraftTree, Medusa, MedusaChoices, MedusaNodes, Typical,
        LookupNgram, LookupMinNgram, LookupTokens, .. Tree.All,
    ];

    public void AddTo(Command command)
    {
        foreach (var o in All) command.Options.Add(o);
    }

    /// <summary>The inputs the flags give, checked (paths exist, ranges hold).</summary>
    public DrafterInputs Read(ParseResult pr)
    {
        string? Dir(Option<string?> o)
        {
            if (pr.GetValue(o) is not string path) return null;
            bool gguf = o == DraftModel && FrSpec.Formats.Gguf.GgufFile.IsGgufPath(path);
            if (gguf ? !File.Exists(path) : !Directory.Exists(path)) throw new FrSpecException($"{o.Name} {path}: no such {(gguf ? "file" : "directory")}");
            return path;
        }
        var tree = Tree.Resolve(pr); // null: the automatic tree
        var limits = new DraftLimits { MinProbability = pr.GetValue(DraftPMin), MinDraftTokens = pr.GetValue(DraftMin) };
        limits.Validate();
        int max = pr.GetValue(DraftMax);
        DraftModelMethod.Chain(max); // range check
        MedusaTree? medusa = pr.GetValue(MedusaChoices) is string file ? MedusaTree.Load(file) : null;
        if (pr.GetValue(MedusaNodes) is int nodes)
        {
            if (nodes < 1) throw new FrSpecException($"--medusa-nodes must be positive, got {nodes}");
            medusa = (medusa ?? MedusaTree.McSim7b63).Prefix(nodes);
        }
        var lookup = new PromptLookupOptions { MaxNgram = pr.GetValue(LookupNgram), MinNgram = pr.GetValue(LookupMinNgram), DraftTokens = pr.GetValue(LookupTokens) };
        lookup.Validate();
        return new DrafterInputs
        {
            Eagle = Dir(Eagle), DraftModel = Dir(DraftModel), Medusa = Dir(Medusa),
            Tree = tree, Auto = CliTreeOptions.Auto, DraftTree = pr.GetValue(DraftTree), DraftMax = max, DraftLimits = limits,
            MedusaTree = medusa, Typical = pr.GetValue(Typical), Lookup = lookup,
        };
    }

    /// <summary>
    /// The drafter a single-method command runs: --method when given (vanilla, eagle2, eagle3, draft, medusa, lookup),
    /// else the one whose input flag is set (at most one), else vanilla.
    /// </summary>
    public static MethodKind Resolve(string? method, DrafterInputs inputs)
    {
        if (method != null)
        {
            if (method.Equals("vanilla", StringComparison.OrdinalIgnoreCase)) return MethodKind.Vanilla;
            return MethodSpec.Drafters.TryGetValue(method, out var kind) ? kind
                : throw new FrSpecException($"--method {method}: expected vanilla, {string.Join(", ", MethodSpec.Drafters.Keys)}");
        }
        var available = inputs.Available();
        if (available.Count > 1) throw new FrSpecException($"several drafters given ({string.Join(", ", available)}): choose one with --method");
        return available.Count == 1 ? available[0] : MethodKind.Vanilla;
    }

    /// <summary>
    /// The FR-Spec vocabulary of --fr FILE (its first --fr-size ids) or --fr-size N (freq_N.pt beside the model or the
    /// drafter's files, else the bundled counts); null when neither is given.
    /// </summary>
    public static DraftVocabulary? FrVocabulary(LanguageModel model, string? file, int? size, DrafterInputs inputs) =>
        file != null ? model.Vocabulary.LoadDraftVocabulary(file, size)
        : size is int n ? model.Vocabulary.FindDraftVocabulary(n, inputs.Eagle, inputs.Medusa, inputs.DraftModel is string d && Directory.Exists(d) ? d : null)
        : null;
}
