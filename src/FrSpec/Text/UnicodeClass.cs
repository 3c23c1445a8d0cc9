using System.Globalization;
using System.Text;

namespace FrSpec.Text;

/// <summary>
/// Code-point classes used by the HF pre-tokenizer regexes (\p{L}, \p{N}, \s), looked up through a table for the BMP so
/// the hand-written splitters stay fast. Surrogate pairs count as one code point (the regexes run in Unicode mode).
/// </summary>
internal static class UnicodeClass
{
    public const byte Other = 0, Letter = 1, Number = 2, Space = 3;

    private static readonly byte[] Bmp = BuildBmp();

    private static byte[] BuildBmp()
    {
        var t = new byte[65536];
        for (int c = 0; c < 65536; c++)
            t[c] = c is >= 0xD800 and <= 0xDFFF ? Other : Classify(c);
        return t;
    }

    private static byte Classify(int cp)
    {
        // Unicode White_Space (what \s means in Oniguruma/Rust regex); char.IsWhiteSpace has the same set.
        if (cp < 0x10000 && char.IsWhiteSpace((char)cp)) return Space;
        switch (CharUnicodeInfo.GetUnicodeCategory(cp))
        {
            case UnicodeCategory.UppercaseLetter:
            case UnicodeCategory.LowercaseLetter:
            case UnicodeCategory.TitlecaseLetter:
            case UnicodeCategory.ModifierLetter:
            case UnicodeCategory.OtherLetter:
                return Letter;
            case UnicodeCategory.DecimalDigitNumber:
            case UnicodeCategory.LetterNumber:
            case UnicodeCategory.OtherNumber:
                return Number;
            default:
                return Other;
        }
    }

    /// <summary>Class of the code point starting at <paramref name="i"/>; <paramref name="len"/> is 1 or 2 UTF-16 units.</summary>
    public static byte At(ReadOnlySpan<char> s, int i, out int len)
    {
        char c = s[i];
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            len = 2;
            return Classify(char.ConvertToUtf32(c, s[i + 1]));
        }
        len = 1;
        return Bmp[c];
    }

    /// <summary>Class of a code point.</summary>
    public static byte Of(int cp) => cp < 0x10000 ? Bmp[cp] : Classify(cp);

    /// <summary>Replaces unpaired surrogates with U+FFFD, as every UTF-8 encoder (and HF) must.</summary>
    public static string ReplaceLoneSurrogates(string s)
    {
        int i = 0;
        for (; i < s.Length; i++)
        {
            char c = s[i];
            if (!char.IsSurrogate(c)) continue;
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            break;
        }
        if (i == s.Length) return s;
        var sb = new StringBuilder(s.Length);
        sb.Append(s, 0, i);
        for (; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { sb.Append(c).Append(s[++i]); }
            else if (char.IsSurrogate(c)) sb.Append('\uFFFD');
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
