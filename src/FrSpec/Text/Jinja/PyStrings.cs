using System.Globalization;
using System.Text;

namespace FrSpec.Text.Jinja;

/// <summary>
/// Python's str semantics on .NET strings: whitespace as str.isspace, strip/split/splitlines, case helpers, and
/// indexing by code point (a Python str indexes code points; a .NET string holds UTF-16 units, so a character outside
/// the BMP is one index in Python but two here).
/// </summary>
internal static class PyStrings
{
    /// <summary>str.isspace for one UTF-16 unit: Unicode whitespace plus the separators U+001C..U+001F.</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';

    public static bool IsAllSpace(string s, int from)
    {
        if (from >= s.Length) return false;
        for (int i = from; i < s.Length; i++)
            if (!IsSpace(s[i])) return false;
        return true;
    }

    public static string RStrip(string s)
    {
        int b = s.Length;
        while (b > 0 && IsSpace(s[b - 1])) b--;
        return b == s.Length ? s : s[..b];
    }

    /// <summary>str.strip / lstrip / rstrip with Python's chars argument (null: whitespace).</summary>
    public static string Strip(string s, string? chars, bool left, bool right)
    {
        if (chars is null)
        {
            int a = 0, b = s.Length;
            if (left) while (a < b && IsSpace(s[a])) a++;
            if (right) while (b > a && IsSpace(s[b - 1])) b--;
            return a == 0 && b == s.Length ? s : s[a..b];
        }
        if (chars.Length == 0) return s;
        var set = new HashSet<int>(CodePoints(chars));
        var cps = CodePointSpans(s);
        int lo = 0, hi = cps.Count;
        if (left) while (lo < hi && set.Contains(cps[lo].CodePoint)) lo++;
        if (right) while (hi > lo && set.Contains(cps[hi - 1].CodePoint)) hi--;
        if (lo == hi) return "";
        int start = cps[lo].Start, end = cps[hi - 1].Start + cps[hi - 1].Length;
        return start == 0 && end == s.Length ? s : s[start..end];
    }

    /// <summary>True when the string has no surrogates: then UTF-16 indexes are code point indexes.</summary>
    public static bool IsBmp(string s)
    {
        foreach (char c in s)
            if (char.IsSurrogate(c)) return false;
        return true;
    }

    /// <summary>Code points of a string; a lone surrogate is its own code point, as in Python.</summary>
    public static List<int> CodePoints(string s)
    {
        var list = new List<int>(s.Length);
        foreach (var span in CodePointSpans(s)) list.Add(span.CodePoint);
        return list;
    }

    public static List<(int CodePoint, int Start, int Length)> CodePointSpans(string s)
    {
        var list = new List<(int, int, int)>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                list.Add((char.ConvertToUtf32(s[i], s[i + 1]), i, 2));
                i++;
            }
            else list.Add((s[i], i, 1));
        }
        return list;
    }

    /// <summary>len(s) in code points.</summary>
    public static int Length(string s)
    {
        int n = s.Length;
        for (int i = 0; i + 1 < s.Length; i++)
            if (char.IsHighSurrogate(s[i]) && char.IsLowSurrogate(s[i + 1])) { n--; i++; }
        return n;
    }

    /// <summary>The characters (code points) of a string as separate strings, as iterating a Python str gives.</summary>
    public static string[] Characters(string s)
    {
        var spans = CodePointSpans(s);
        var result = new string[spans.Count];
        for (int i = 0; i < spans.Count; i++) result[i] = s.Substring(spans[i].Start, spans[i].Length);
        return result;
    }

    public static string FromCodePoint(int cp) => cp < 0x10000 ? ((char)cp).ToString() : char.ConvertFromUtf32(cp);

    /// <summary>Compares strings by code point, as Python orders str.</summary>
    public static int Compare(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            int ca = Next(a, ref i), cb = Next(b, ref j);
            if (ca != cb) return ca < cb ? -1 : 1;
        }
        return (i < a.Length ? 1 : 0) - (j < b.Length ? 1 : 0);

        static int Next(string s, ref int k)
        {
            if (char.IsHighSurrogate(s[k]) && k + 1 < s.Length && char.IsLowSurrogate(s[k + 1]))
            {
                int cp = char.ConvertToUtf32(s[k], s[k + 1]);
                k += 2;
                return cp;
            }
            return s[k++];
        }
    }

    public static string Upper(string s) => s.ToUpperInvariant();
    public static string Lower(string s) => s.ToLowerInvariant();

    private static bool IsCased(char c) => char.GetUnicodeCategory(c) is UnicodeCategory.UppercaseLetter
        or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    /// <summary>str.title(): a cased letter after an uncased character starts a word.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousCased = false;
        foreach (char c in s)
        {
            sb.Append(previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            previousCased = IsCased(c);
        }
        return sb.ToString();
    }

    /// <summary>str.capitalize(): first character upper case, the rest lower case.</summary>
    public static string Capitalize(string s)
        => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    /// <summary>str.islower / str.isupper: at least one cased character and all cased characters in that case.</summary>
    public static bool IsCase(string s, bool upper)
    {
        bool any = false;
        foreach (char c in s)
        {
            var cat = char.GetUnicodeCategory(c);
            if (cat == UnicodeCategory.TitlecaseLetter) return false;
            if (cat == UnicodeCategory.UppercaseLetter) { if (!upper) return false; any = true; }
            else if (cat == UnicodeCategory.LowercaseLetter) { if (upper) return false; any = true; }
        }
        return any;
    }

    private static bool IsLineBreak(char c) => c is '\n' or '\r' or '\v' or '\f' or '\u001C' or '\u001D' or '\u001E'
        or '\u0085' or '\u2028' or '\u2029';

    /// <summary>str.splitlines(keepends): Python's line boundaries, "\r\n" counting as one.</summary>
    public static List<string> SplitLines(string s, bool keepEnds = false)
    {
        var lines = new List<string>();
        int start = 0, i = 0;
        while (i < s.Length)
        {
            if (!IsLineBreak(s[i])) { i++; continue; }
            int eol = i + (s[i] == '\r' && i + 1 < s.Length && s[i + 1] == '\n' ? 2 : 1);
            lines.Add(s[start..(keepEnds ? eol : i)]);
            start = i = eol;
        }
        if (start < s.Length) lines.Add(s[start..]);
        return lines;
    }

    /// <summary>str.split(None, maxsplit) / str.rsplit(None, maxsplit): runs of whitespace separate.</summary>
    public static List<string> SplitWhitespace(string s, long maxSplit, bool fromRight)
    {
        var parts = new List<string>();
        if (!fromRight)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && IsSpace(s[i])) i++;
                if (i >= s.Length) break;
                if (maxSplit >= 0 && parts.Count >= maxSplit) { parts.Add(s[i..]); break; }
                int j = i;
                while (j < s.Length && !IsSpace(s[j])) j++;
                parts.Add(s[i..j]);
                i = j;
            }
            return parts;
        }
        int end = s.Length;
        while (true)
        {
            while (end > 0 && IsSpace(s[end - 1])) end--;
            if (end == 0) break;
            if (maxSplit >= 0 && parts.Count >= maxSplit) { parts.Add(s[..end]); break; }
            int k = end;
            while (k > 0 && !IsSpace(s[k - 1])) k--;
            parts.Add(s[k..end]);
            end = k;
        }
        parts.Reverse();
        return parts;
    }

    /// <summary>str.split(sep, maxsplit) / str.rsplit(sep, maxsplit) with a non-empty separator.</summary>
    public static List<string> Split(string s, string sep, long maxSplit, bool fromRight)
    {
        var parts = new List<string>();
        if (!fromRight)
        {
            int start = 0;
            while (maxSplit < 0 || parts.Count < maxSplit)
            {
                int k = s.IndexOf(sep, start, StringComparison.Ordinal);
                if (k < 0) break;
                parts.Add(s[start..k]);
                start = k + sep.Length;
            }
            parts.Add(s[start..]);
            return parts;
        }
        int end = s.Length;
        while (maxSplit < 0 || parts.Count < maxSplit)
        {
            int k = end - sep.Length < 0 ? -1 : s.LastIndexOf(sep, end - 1, end, StringComparison.Ordinal);
            if (k < 0) break;
            parts.Add(s[(k + sep.Length)..end]);
            end = k;
        }
        parts.Add(s[..end]);
        parts.Reverse();
        return parts;
    }
}
