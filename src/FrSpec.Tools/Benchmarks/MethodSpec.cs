using System.Text.RegularExpressions;
using FrSpec.Sessions;
using FrSpec.Speculative;

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
}

/// <summary>
/// A method to benchmark, written "vanilla", "eagle2" or "fr:PATH" (PATH = a frequency list such as freq_32768.pt).
/// </summary>
public sealed partial record MethodSpec(MethodKind Kind, string? FrequencyFile = null)
{
    public static MethodSpec Vanilla { get; } = new(MethodKind.Vanilla);
    public static MethodSpec Eagle2 { get; } = new(MethodKind.Eagle2);
    public static MethodSpec Fr(string frequencyFile) => new(MethodKind.FrSpec, frequencyFile);

    /// <summary>Parses "vanilla", "eagle2" (or "eagle-2") and "fr:PATH".</summary>
    public static MethodSpec Parse(string text)
    {
        var t = text.Trim();
        if (t.Equals("vanilla", StringComparison.OrdinalIgnoreCase)) return Vanilla;
        if (t.Equals("eagle2", StringComparison.OrdinalIgnoreCase) || t.Equals("eagle-2", StringComparison.OrdinalIgnoreCase)) return Eagle2;
        if (t.StartsWith("fr:", StringComparison.OrdinalIgnoreCase) && t.Length > 3) return Fr(t[3..]);
        throw new FrSpecException($"unknown method '{text}': expected vanilla, eagle2 or fr:PATH");
    }

    /// <summary>
    /// The engine's decoding method for this spec on a loaded model: the FR-Spec vocabulary is read from the frequency
    /// file with the model's control ids forced in. The speculative methods need <paramref name="eagleDir"/>.
    /// </summary>
    public DecodingMethod ToDecodingMethod(LanguageModel model, string? eagleDir, TreeOptions tree)
    {
        if (Kind == MethodKind.Vanilla) return DecodingMethod.Vanilla;
        if (eagleDir == null) throw new FrSpecException($"method {this} needs --eagle DIR");
        return DecodingMethod.Eagle(eagleDir, Kind == MethodKind.FrSpec ? model.Vocabulary.LoadDraftVocabulary(FrequencyFile!) : null, tree);
    }

    /// <summary>
    /// The V' that the frequency file's name states (freq_32768.pt, 32768.bin, ...), or null. Used only to label
    /// and order results when the decoder's name does not carry it.
    /// </summary>
    public int? VocabSizeFromFileName()
    {
        if (FrequencyFile is null) return null;
        var m = TrailingNumber().Match(Path.GetFileNameWithoutExtension(FrequencyFile));
        return m.Success && int.TryParse(m.Groups[1].Value, out int v) ? v : null;
    }

    public override string ToString() => Kind switch
    {
        MethodKind.Vanilla => "vanilla",
        MethodKind.Eagle2 => "eagle2",
        _ => "fr:" + FrequencyFile,
    };

    [GeneratedRegex(@"(\d+)\D*$")]
    private static partial Regex TrailingNumber();
}
