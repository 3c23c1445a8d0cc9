using System.Globalization;
using System.Text.RegularExpressions;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Speculative.AutoTree;

namespace FrSpec.Benchmarks;

/// <summary>The decoding methods a benchmark compares.</summary>
public enum MethodKind
{
    /// <summary>Plain autoregressive decoding of the target: the baseline.</summary>
    Vanilla,
    /// <summary>EAGLE-2 with the draft head's full-vocabulary LM head.</summary>
    Eagle2,
    /// <summary>EAGLE-2 whose draft LM head keeps only a frequency-ranked vocabulary subset (FR-Spec).</summary>
    FrSpec,
    /// <summary>An EAGLE-3 head (its own draft vocabulary; with a frequency file, cut to that subset too).</summary>
    Eagle3,
    /// <summary>A draft model with the target's tokenizer (with a frequency file, its LM head cut to that subset).</summary>
    DraftModel,
    /// <summary>Medusa-1 heads with a static tree (with a frequency file, every head's LM head cut to that subset).</summary>
    Medusa,
    /// <summary>Prompt lookup (n-gram) drafting: no weights, no FR-Spec variant.</summary>
    Lookup,
    /// <summary>EAGLE-2 whose automatic tree also chooses the draft vocabulary among FR-Spec subsets and the full head.</summary>
    FrAuto,
}

/// <summary>
/// A method to benchmark, written "vanilla", "eagle2", "fr:PATH" (EAGLE-2 with FR-Spec; PATH = a frequency list such as
/// freq_32768.pt), "fr-auto:PATH;PATH;..." (EAGLE-2's automatic tree chooses among those lists and the full head),
/// "eagle3", "draft", "medusa" (each also "NAME-fr:PATH" with FR-Spec) or "lookup". A tree drafter uses the drafter
/// inputs' tree (EAGLE-2: the automatic tree unless fixed) unless a fixed tree follows: "eagle2@d4k8t16" = depth 4,
/// top-k 8, 16 tokens.
/// </summary>
public sealed partial record MethodSpec(MethodKind Kind, string? FrequencyFile = null, TreeOptions? Tree = null)
{
    public static MethodSpec Vanilla { get; } = new(MethodKind.Vanilla);
    public static MethodSpec Eagle2 { get; } = new(MethodKind.Eagle2);
    public static MethodSpec Fr(string frequencyFile) => new(MethodKind.FrSpec, frequencyFile);
    public static MethodSpec FrAuto(IEnumerable<string> frequencyFiles) => new(MethodKind.FrAuto, string.Join(';', frequencyFiles));

    /// <summary>The same method with a fixed tree (null: the drafter inputs' tree).</summary>
    public MethodSpec WithTree(TreeOptions? tree) => Kind is MethodKind.Vanilla or MethodKind.Lookup or MethodKind.Medusa ? this : this with { Tree = tree };

    /// <summary>The frequency lists of an FR-Spec method (one) or of an automatic choice (several).</summary>
    public IReadOnlyList<string> FrequencyFiles => FrequencyFile?.Split(';', StringSplitOptions.RemoveEmptyEntries) ?? [];

    /// <summary>The label of a method whose decoder is called <paramref name="name"/>: the name, with "-dDkKtT" for a fixed tree.</summary>
    public string Label(string name) => Tree == null ? name : $"{name}-{TreeText(Tree)}";

    /// <summary>The spec names of the drafters, as --method takes them.</summary>
    public static IReadOnlyDictionary<string, MethodKind> Drafters { get; } = new Dictionary<string, MethodKind>(StringComparer.OrdinalIgnoreCase)
    {
        ["eagle2"] = MethodKind.Eagle2, ["eagle3"] = MethodKind.Eagle3, ["draft"] = MethodKind.DraftModel,
        ["medusa"] = MethodKind.Medusa, ["lookup"] = MethodKind.Lookup,
    };

    /// <summary>True for drafters that end in an LM head, the ones FR-Spec applies to.</summary>
    public static bool HasLmHead(MethodKind kind) => kind is MethodKind.Eagle2 or MethodKind.FrSpec or MethodKind.FrAuto or MethodKind.Eagle3 or MethodKind.DraftModel or MethodKind.Medusa;

    /// <summary>This drafter with an FR-Spec frequency file (EAGLE-2 becomes the <see cref="MethodKind.FrSpec"/> kind, as before).</summary>
    public static MethodSpec WithFr(MethodKind kind, string frequencyFile) =>
        HasLmHead(kind) ? new(kind == MethodKind.Eagle2 ? MethodKind.FrSpec : kind, frequencyFile)
            : throw new FrSpecException($"{Name(kind)} has no draft LM head, so FR-Spec does not apply to it");

    /// <summary>Parses every form <see cref="ToString"/> writes ("eagle-2" is accepted for eagle2).</summary>
    public static MethodSpec Parse(string text)
    {
        var t = text.Trim();
        TreeOptions? tree = null;
        if (TreeSuffix().Match(t) is { Success: true } m)
        {
            tree = new TreeOptions { Depth = Int(m.Groups[1].Value), TopK = Int(m.Groups[2].Value), TotalTokens = Int(m.Groups[3].Value) };
            t = t[..m.Index];
        }
        var spec = ParseName(t, text);
        if (tree != null && spec.Kind is MethodKind.Vanilla or MethodKind.Lookup or MethodKind.Medusa)
            throw new FrSpecException($"method '{text}': {spec} has no dynamic tree to fix");
        return spec with { Tree = tree };
    }

    private static MethodSpec ParseName(string t, string text)
    {
        if (t.Equals("vanilla", StringComparison.OrdinalIgnoreCase)) return Vanilla;
        if (t.Equals("eagle-2", StringComparison.OrdinalIgnoreCase)) return Eagle2;
        if (Drafters.TryGetValue(t, out var kind)) return new(kind);
        if (t.StartsWith("fr-auto:", StringComparison.OrdinalIgnoreCase) && t.Length > 8) return new(MethodKind.FrAuto, t[8..]);
        if (t.StartsWith("fr:", StringComparison.OrdinalIgnoreCase) && t.Length > 3) return Fr(t[3..]);
        int colon = t.IndexOf("-fr:", StringComparison.OrdinalIgnoreCase);
        if (colon > 0 && t.Length > colon + 4 && Drafters.TryGetValue(t[..colon], out kind) && kind != MethodKind.Eagle2)
            return WithFr(kind, t[(colon + 4)..]);
        throw new FrSpecException($"unknown method '{text}': expected vanilla, eagle2, fr:PATH, fr-auto:PATH;PATH, eagle3, draft, medusa (or NAME-fr:PATH) or lookup (tree drafters optionally @dDEPTHkTOPKtTOKENS)");
    }

    private static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);

    /// <summary>
    /// The engine's decoding method for this spec on a loaded model: the drafter's inputs come from
    /// <paramref name="inputs"/>, the FR-Spec vocabulary from the frequency file with the model's control ids forced in.
    /// </summary>
    public DecodingMethod ToDecodingMethod(LanguageModel model, DrafterInputs inputs)
    {
        if (Tree != null) inputs = inputs with { Tree = Tree };
        if (Kind == MethodKind.FrAuto)
        {
            if (inputs.Tree != null) throw new FrSpecException($"method {this}: choosing the draft vocabulary needs the automatic tree");
            if (inputs.Eagle == null) throw new FrSpecException($"method {this} needs --eagle DIR");
            var candidates = FrequencyFiles.Select(f => (DraftVocabulary?)model.Vocabulary.LoadDraftVocabulary(f)).Append(null).ToList();
            return DecodingMethod.Eagle(inputs.Eagle, candidates, inputs.Auto);
        }
        return inputs.Method(Kind == MethodKind.FrSpec ? MethodKind.Eagle2 : Kind, FrequencyFile == null ? null : model.Vocabulary.LoadDraftVocabulary(FrequencyFile));
    }

    /// <summary>EAGLE-2 and FR-Spec with the head in <paramref name="eagleDir"/>: <paramref name="tree"/> fixed, or null for
    /// the automatic tree with <paramref name="auto"/>.</summary>
    public DecodingMethod ToDecodingMethod(LanguageModel model, string? eagleDir, TreeOptions? tree = null, AutoTreeOptions? auto = null) =>
        ToDecodingMethod(model, new DrafterInputs { Eagle = eagleDir, Tree = tree, Auto = auto ?? AutoTreeOptions.Default });

    /// <summary>
    /// The V' that the frequency file's name states (freq_32768.pt, 32768.bin, ...), or null. Used only to label
    /// and order results when the decoder's name does not carry it.
    /// </summary>
    public int? VocabSizeFromFileName()
    {
        if (FrequencyFile is null || Kind == MethodKind.FrAuto) return null;
        var m = TrailingNumber().Match(Path.GetFileNameWithoutExtension(FrequencyFile));
        return m.Success && int.TryParse(m.Groups[1].Value, out int v) ? v : null;
    }

    private static string Name(MethodKind kind) => kind switch
    {
        MethodKind.Vanilla => "vanilla",
        MethodKind.Eagle2 or MethodKind.FrSpec or MethodKind.FrAuto => "eagle2",
        MethodKind.Eagle3 => "eagle3",
        MethodKind.DraftModel => "draft",
        MethodKind.Medusa => "medusa",
        _ => "lookup",
    };

    public override string ToString()
    {
        string name = Kind switch
        {
            MethodKind.FrSpec => "fr:" + FrequencyFile,
            MethodKind.FrAuto => "fr-auto:" + FrequencyFile,
            _ when FrequencyFile != null => $"{Name(Kind)}-fr:{FrequencyFile}",
            _ => Name(Kind),
        };
        return Tree == null ? name : $"{name}@{TreeText(Tree)}";
    }

    private static string TreeText(TreeOptions t) => $"d{t.Depth}k{t.TopK}t{t.TotalTokens}";

    [GeneratedRegex(@"(\d+)\D*$")]
    private static partial Regex TrailingNumber();

    [GeneratedRegex(@"@d(\d{1,3})k(\d{1,3})t(\d{1,4})$")]
    private static partial Regex TreeSuffix();
}
