using System.Text.RegularExpressions;

namespace FrSpec.Text;

/// <summary>
/// Finds the matches of a Split pre-tokenizer pattern. The regexes of GPT-2, Llama-3 (cl100k style) and Qwen2 are
/// implemented by hand, code point by code point, exactly as the regex engine would match them (leftmost alternative
/// first, greedy with backtracking where the pattern needs it): fast, no backtracking blow-up, and astral characters
/// classified correctly (.NET's Regex works on UTF-16 units). Other patterns fall back to .NET Regex.
/// </summary>
internal abstract class PatternSplitter
{
    /// <summary>Appends (start, length) of every match in <paramref name="s"/>, in order.</summary>
    public abstract void Matches(ReadOnlySpan<char> s, List<(int Start, int Length)> into);

    public const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string Qwen2Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>The splitter for a tokenizer.json regex; <paramref name="origin"/> names the file and field in errors.</summary>
    public static PatternSplitter ForRegex(string pattern, string origin = "tokenizer") => pattern switch
    {
        Llama3Pattern => new Cl100kSplitter(3),
        Qwen2Pattern => new Cl100kSplitter(1),
        Gpt2Pattern => new Gpt2Splitter(),
        _ => new RegexSplitter(new TokenizerRegex(pattern, origin)),
    };

    /// <summary>Splitter for a literal string pattern.</summary>
    public static PatternSplitter ForString(string literal, string origin = "tokenizer") => new RegexSplitter(new TokenizerRegex(Regex.Escape(literal), origin));

    /// <summary>Length of the contraction ('s 't 're 've 'm 'll 'd) at i, or 0.</summary>
    protected static int Contraction(ReadOnlySpan<char> s, int i, bool ignoreCase)
    {
        if (s[i] != '\'' || i + 1 >= s.Length) return 0;
        char a = s[i + 1];
        if (ignoreCase)
        {
            // Oniguruma's (?i) uses Unicode case folding: U+017F LATIN SMALL LETTER LONG S folds to 's'.
            if (a == '\u017F') return 2;
            a = char.ToLowerInvariant(a);
        }
        switch (a)
        {
            case 's': case 't': case 'm': case 'd': return 2;
            case 'r': case 'v': case 'l':
                if (i + 2 >= s.Length) return 0;
                char b = s[i + 2];
                if (ignoreCase) b = char.ToLowerInvariant(b);
                return (a, b) is ('r', 'e') or ('v', 'e') or ('l', 'l') ? 3 : 0;
        }
        return 0;
    }

    /// <summary>End of the run of code points of class <paramref name="cls"/> starting at i (i itself if none).</summary>
    protected static int RunEnd(ReadOnlySpan<char> s, int i, byte cls)
    {
        while (i < s.Length)
        {
            if (UnicodeClass.At(s, i, out int len) != cls) break;
            i += len;
        }
        return i;
    }

    /// <summary>End of the run of code points NOT in {Space, Letter, Number} starting at i.</summary>
    protected static int OtherRunEnd(ReadOnlySpan<char> s, int i) => RunEnd(s, i, UnicodeClass.Other);

    /// <summary>Whitespace handling shared by both patterns: \s*[\r\n]+ (optional), \s+(?!\S), \s+.</summary>
    protected static int Whitespace(ReadOnlySpan<char> s, int i, bool newlineRule)
    {
        int end = RunEnd(s, i, UnicodeClass.Space);
        if (newlineRule)
        {
            // \s*[\r\n]+ : greedy \s* backs off to the last \r or \n of the run; [\r\n]+ then takes just that one.
            for (int k = end - 1; k >= i; k--)
                if (s[k] is '\r' or '\n') return k + 1 - i;
        }
        // \s+(?!\S) : the whole run at the end of text, else the run minus its last character (if that leaves any).
        if (end == s.Length) return end - i;
        int lastLen = char.IsLowSurrogate(s[end - 1]) && end - 2 >= i ? 2 : 1;
        if (end - lastLen > i) return end - lastLen - i;
        return end - i;   // \s+
    }
}

/// <summary>A hand-written splitter: the longest match at each position, one after another, covering the whole text.</summary>
internal abstract class ScannerSplitter : PatternSplitter
{
    public override void Matches(ReadOnlySpan<char> s, List<(int Start, int Length)> into)
    {
        int i = 0;
        while (i < s.Length)
        {
            int n = MatchAt(s, i);
            into.Add((i, n));
            i += n;
        }
    }

    /// <summary>Length (≥ 1) of the match starting at <paramref name="i"/>.</summary>
    protected abstract int MatchAt(ReadOnlySpan<char> s, int i);
}

/// <summary>The Llama-3 / Qwen2 pattern (cl100k style); they differ only in the digit group length.</summary>
internal sealed class Cl100kSplitter(int maxDigits) : ScannerSplitter
{
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]   // hot: skip tier-0 code
    protected override int MatchAt(ReadOnlySpan<char> s, int i)
    {
        int c = Contraction(s, i, ignoreCase: true);
        if (c > 0) return c;
        byte cls = UnicodeClass.At(s, i, out int len);
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (cls == UnicodeClass.Letter) return RunEnd(s, i, UnicodeClass.Letter) - i;
        if (cls != UnicodeClass.Number && s[i] != '\r' && s[i] != '\n' && i + len < s.Length
            && UnicodeClass.At(s, i + len, out _) == UnicodeClass.Letter)
            return RunEnd(s, i + len, UnicodeClass.Letter) - i;
        // \p{N}{1,K}
        if (cls == UnicodeClass.Number)
        {
            int j = i, k = 0;
            while (j < s.Length && k < maxDigits && UnicodeClass.At(s, j, out int l) == UnicodeClass.Number) { j += l; k++; }
            return j - i;
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        int p = i;
        if (s[p] == ' ' && p + 1 < s.Length && UnicodeClass.At(s, p + 1, out _) == UnicodeClass.Other) p++;
        if (UnicodeClass.At(s, p, out _) == UnicodeClass.Other)
        {
            int j = OtherRunEnd(s, p);
            while (j < s.Length && s[j] is '\r' or '\n') j++;
            return j - i;
        }
        // cls is Space here.
        return Whitespace(s, i, newlineRule: true);
    }
}

/// <summary>The GPT-2 pattern (ByteLevel pre-tokenizer with use_regex).</summary>
internal sealed class Gpt2Splitter : ScannerSplitter
{
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]   // hot: skip tier-0 code
    protected override int MatchAt(ReadOnlySpan<char> s, int i)
    {
        int c = Contraction(s, i, ignoreCase: false);
        if (c > 0) return c;
        int p = s[i] == ' ' && i + 1 < s.Length ? i + 1 : i;
        byte cls = UnicodeClass.At(s, p, out _);
        if (p > i && cls == UnicodeClass.Space) { p = i; cls = UnicodeClass.Space; }
        switch (cls)
        {
            case UnicodeClass.Letter: return RunEnd(s, p, UnicodeClass.Letter) - i;
            case UnicodeClass.Number: return RunEnd(s, p, UnicodeClass.Number) - i;
            case UnicodeClass.Other: return OtherRunEnd(s, p) - i;
            default: return Whitespace(s, i, newlineRule: false);
        }
    }
}

/// <summary>Any other pattern, through .NET Regex (UTF-16 based: astral characters may be classified differently), under a match timeout.</summary>
internal sealed class RegexSplitter(TokenizerRegex regex) : PatternSplitter
{
    public override void Matches(ReadOnlySpan<char> s, List<(int Start, int Length)> into) => regex.Matches(s, into);
}
