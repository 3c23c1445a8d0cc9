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
    /// <summary>EAGLE-2 whose automatic tree also chooses the draft vocabulary among FR-Spec subsets and the full head.</summary>
    FrAuto,
}

/// <summary>
/// A method to benchmark, written "vanilla", "eagle2", "fr:PATH" (PATH = a frequency list such as freq_32768.pt) or
/// "fr-auto:PATH;PATH;..." (the automatic tree chooses among those lists and the full head). A speculative method uses
/// the automatic tree unless a fixed tree follows: "eagle2@d4k8t16" = depth 4, top-k 8, 16 tokens.
/// </summary>
public sealed partial record MethodSpec(MethodKind Kind, string? FrequencyFile = null, TreeOptions? Tree = null)
{
    public static MethodSpec Vanilla { get; } = new(MethodKind.Vanilla);
    public static MethodSpec Eagle2 { get; } = new(MethodKind.Eagle2);
    public static MethodSpec Fr(string frequencyFile) => new(MethodKind.FrSpec, frequencyFile);
    public static MethodSpec FrAuto(IEnumerable<string> frequencyFiles) => new(MethodKind.FrAuto, string.Join(';', frequencyFiles));

    /// <summary>The same method with a fixed tree (null: the automatic tree).</summary>
    public MethodSpec WithTree(TreeOptions? tree) => Kind == MethodKind.Vanilla ? this : this with { Tree = tree };

    /// <summary>Parses "vanilla", "eagle2" (or "eagle-2"), "fr:PATH" and "fr-auto:PATHS", each but vanilla optionally with "@dDkKtT".</summary>
    public static MethodSpec Parse(string text)
    {
        var t = text.Trim();
        TreeOptions? tree = null;
        if (TreeSuffix().Match(t) is { Success: true } m)
        {
            tree = new TreeOptions { Depth = Int(m.Groups[1].Value), TopK = Int(m.Groups[2].Value), TotalTokens = Int(m.Groups[3].Value) };
            t = t[..m.Index];
        }
        MethodSpec spec =
            t.Equals("vanilla", StringComparison.OrdinalIgnoreCase) && tree == null ? Vanilla
            : t.Equals("eagle2", StringComparison.OrdinalIgnoreCase) || t.Equals("eagle-2", StringComparison.OrdinalIgnoreCase) ? Eagle2
            : t.StartsWith("fr-auto:", StringComparison.OrdinalIgnoreCase) && t.Length > 8 ? new MethodSpec(MethodKind.FrAuto, t[8..])
            : t.StartsWith("fr:", StringComparison.OrdinalIgnoreCase) && t.Length > 3 ? Fr(t[3..])
            : throw new FrSpecException($"unknown method '{text}': expected vanilla, eagle2, fr:PATH or fr-auto:PATH;PATH (optionally @dDEPTHkTOPKtTOKENS)");
        return spec with { Tree = tree };
    }

    private static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);

    /// <summary>The frequency lists of an FR-Spec method (one) or of an automatic choice (several).</summary>
    public IReadOnlyList<string> FrequencyFiles => FrequencyFile?.Split(';', StringSplitOptions.RemoveEmptyEntries) ?? [];

    /// <summary>
    /// The engine's decoding method for this spec on a loaded model: the FR-Spec vocabularies are read from the frequency
    /// files with the model's control ids forced in. The speculative methods need <paramref name="eagleDir"/>; without a
    /// fixed tree they use the automatic tree with <paramref name="auto"/>.
    /// </summary>
    public DecodingMethod ToDecodingMethod(LanguageModel model, string? eagleDir, AutoTreeOptions? auto = null)
    {
        if (Kind == MethodKind.Vanilla) return DecodingMethod.Vanilla;
        if (eagleDir == null) throw new FrSpecException($"method {this} needs --eagle DIR");
        if (Kind == MethodKind.FrAuto)
        {
            if (Tree != null) throw new FrSpecException($"method {this}: choosing the draft vocabulary needs the automatic tree");
            var candidates = FrequencyFiles.Select(f => (DraftVocabulary?)model.Vocabulary.LoadDraftVocabulary(f)).Append(null).ToList();
            return DecodingMethod.Eagle(eagleDir, candidates, auto);
        }
        var vocabulary = Kind == MethodKind.FrSpec ? model.Vocabulary.LoadDraftVocabulary(FrequencyFile!) : null;
        return Tree != null ? DecodingMethod.Eagle(eagleDir, vocabulary, Tree) : DecodingMethod.Eagle(eagleDir, [vocabulary], auto);
    }

    /// <summary>The label of a method whose decoder is called <paramref name="name"/>: the name, with "-dDkKtT" for a fixed tree.</summary>
    public string Label(string name) => Tree == null ? name : $"{name}-{TreeText(Tree)}";

    /// <summary>
    /// The V' that the frequency file's name states (freq_32768.pt, 32768.bin, ...), or null. Used only to label
    /// and order results when the decoder's name does not carry it.
    /// </summary>
    public int? VocabSizeFromFileName()
    {
        if (FrequencyFile is null || Kind != MethodKind.FrSpec) return null;
        var m = TrailingNumber().Match(Path.GetFileNameWithoutExtension(FrequencyFile));
        return m.Success && int.TryParse(m.Groups[1].Value, out int v) ? v : null;
    }

    public override string ToString()
    {
        string name = Kind switch
        {
            MethodKind.Vanilla => "vanilla",
            MethodKind.Eagle2 => "eagle2",
            MethodKind.FrAuto => "fr-auto:" + FrequencyFile,
            _ => "fr:" + FrequencyFile,
        };
        return Tree == null ? name : $"{name}@{TreeText(Tree)}";
    }

    private static string TreeText(TreeOptions t) => $"d{t.Depth}k{t.TopK}t{t.TotalTokens}";

    [GeneratedRegex(@"(\d+)\D*$")]
    private static partial Regex TrailingNumber();

    [GeneratedRegex(@"@d(\d{1,3})k(\d{1,3})t(\d{1,4})$")]
    private static partial Regex TreeSuffix();
}
