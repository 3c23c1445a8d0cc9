using System.Globalization;
using System.Text.RegularExpressions;

namespace FrSpec.Benchmarks;

/// <summary>
/// GSM8K answer extraction: the reference's number after "####", and for a model answer the number after the
/// last "The answer is", else the last number in the text. Commas, dollar signs and a trailing period are dropped
/// and numbers are compared by value (so "1,000", "$1000.00" and "1000" agree).
/// </summary>
public static partial class Gsm8kScorer
{
    /// <summary>The reference answer (the number after "####"), or null when there is none.</summary>
    public static decimal? ExtractReference(string reference)
    {
        int i = reference.LastIndexOf("####", StringComparison.Ordinal);
        if (i < 0) return null;
        var m = Number().Match(reference, i + 4);
        return m.Success ? Normalize(m.Value) : null;
    }

    /// <summary>The model's final answer, or null when the text holds no number.</summary>
    public static decimal? ExtractPrediction(string answer)
    {
        var stated = AnswerIs().Matches(answer);
        if (stated.Count > 0)
        {
            var v = Normalize(stated[^1].Groups[1].Value);
            if (v is not null) return v;
        }
        var all = Number().Matches(answer);
        for (int k = all.Count - 1; k >= 0; k--)
        {
            var v = Normalize(all[k].Value);
            if (v is not null) return v;
        }
        return null;
    }

    /// <summary>True when the answer's final number equals the reference's.</summary>
    public static bool IsCorrect(string answer, string reference)
    {
        var r = ExtractReference(reference);
        var p = ExtractPrediction(answer);
        return r is not null && p is not null && r.Value == p.Value;
    }

    static decimal? Normalize(string text)
    {
        var t = text.Replace(",", "").Replace("$", "").Trim().TrimEnd('.');
        return decimal.TryParse(t, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    // A number with optional sign, dollar sign, thousands separators and decimals: -$1,234.50. Not inside a word
    // or a range: "3-4" yields 3 and 4, not -4.
    [GeneratedRegex(@"(?<![\w.])-?\$?\d[\d,]*(?:\.\d+)?")]
    private static partial Regex Number();

    [GeneratedRegex(@"answer is[:\s]*\**\s*(-?\$?\d[\d,]*(?:\.\d+)?)", RegexOptions.IgnoreCase)]
    private static partial Regex AnswerIs();
}
