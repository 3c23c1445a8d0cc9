using System.Text.RegularExpressions;

namespace FrSpec.Text;

/// <summary>
/// A regular expression taken from a tokenizer file (a Split pre-tokenizer or a Replace normalizer). It runs with a
/// match timeout, so a pattern that backtracks catastrophically on some input ends in an error naming the file and the
/// pattern instead of hanging the encoder; an invalid pattern is an error naming them when the tokenizer loads.
/// </summary>
internal sealed class TokenizerRegex
{
    /// <summary>How long one match attempt may take: real split patterns need microseconds per piece.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(2);

    private readonly Regex _regex;
    private readonly string _origin;

    /// <param name="pattern">The pattern as written in the file.</param>
    /// <param name="origin">The file and field it came from, for messages ("tokenizer.json: pre_tokenizer.Split").</param>
    public TokenizerRegex(string pattern, string origin)
    {
        _origin = origin;
        try { _regex = new Regex(pattern, RegexOptions.CultureInvariant, MatchTimeout); }
        catch (ArgumentException e) { throw new FrSpecException($"{origin}: invalid regular expression {Quote(pattern)} ({e.Message})"); }
    }

    /// <summary>Appends (start, length) of every non-empty match.</summary>
    public void Matches(ReadOnlySpan<char> s, List<(int Start, int Length)> into)
    {
        try
        {
            foreach (var m in _regex.EnumerateMatches(s))
                if (m.Length > 0) into.Add((m.Index, m.Length));
        }
        catch (RegexMatchTimeoutException) { throw TimedOut(s.Length); }
    }

    /// <summary>Every match replaced by <paramref name="replacement"/> (a normalizer's Replace).</summary>
    public string Replace(string s, string replacement)
    {
        try { return _regex.Replace(s, replacement); }
        catch (RegexMatchTimeoutException) { throw TimedOut(s.Length); }
    }

    private FrSpecException TimedOut(int chars) => new(
        $"{_origin}: the regular expression {Quote(_regex.ToString())} took longer than {MatchTimeout.TotalSeconds:0.#} s on a text of {chars} characters " +
        "(it backtracks catastrophically; the tokenizer file is broken or hostile)");

    private static string Quote(string pattern) => pattern.Length <= 80 ? $"'{pattern}'" : $"'{pattern[..80]}…'";
}
