using System.Globalization;
using System.Text;

namespace FrSpec.Text.Jinja;

/// <summary>
/// Splits a template into tokens exactly as Jinja2's lexer does with transformers' settings (trim_blocks and
/// lstrip_blocks on): newlines normalised to "\n", one trailing newline dropped, "{%-"/"-%}" (and {{ }}, {# #})
/// strip whitespace, "{%+"/"+%}" keep it, raw blocks kept verbatim, and a tag ends only where its brackets balance.
/// </summary>
internal sealed class Lexer
{
    private static readonly string[] Operators =
        ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"];

    private readonly string _src;
    private readonly bool _trimBlocks, _lstripBlocks;
    private readonly List<Token> _tokens = [];
    private int _pos;
    private bool _lineStarting = true;

    private Lexer(string source, bool trimBlocks, bool lstripBlocks)
    {
        _src = source;
        _trimBlocks = trimBlocks;
        _lstripBlocks = lstripBlocks;
    }

    /// <summary>Newlines as "\n" and without one trailing newline: the text positions refer to.</summary>
    public static string Normalize(string template)
    {
        var s = template.Contains('\r') ? template.Replace("\r\n", "\n").Replace('\r', '\n') : template;
        return s.EndsWith('\n') ? s[..^1] : s;
    }

    /// <summary>Tokens of a normalised template (see <see cref="Normalize"/>), ending with Eof.</summary>
    public static List<Token> Tokenize(string normalized, bool trimBlocks = true, bool lstripBlocks = true)
    {
        var lexer = new Lexer(normalized, trimBlocks, lstripBlocks);
        lexer.Run();
        return lexer._tokens;
    }

    private void Run()
    {
        while (_pos < _src.Length)
        {
            int start = FindTagStart(_pos);
            if (start < 0)
            {
                AddData(_src[_pos..], _pos);
                break;
            }
            char kind = _src[start + 1];
            int p = start + 2;
            char sign = p < _src.Length && _src[p] is '-' or '+' ? _src[p] : '\0';
            int dataStart = _pos;
            string before = StripBefore(_src[_pos..start], sign, kind);
            if (kind == '%' && TryRaw(p + (sign != '\0' ? 1 : 0), out int rawBodyStart))
            {
                AddData(before, dataStart);
                RawBlock(rawBodyStart);
                continue;
            }
            AddData(before, dataStart);
            _pos = p + (sign != '\0' ? 1 : 0);
            _lineStarting = false;
            switch (kind)
            {
                case '#': Comment(start); break;
                case '%': _tokens.Add(new Token(TokenKind.BlockBegin, "{%", start)); Tag(block: true, start); break;
                default: _tokens.Add(new Token(TokenKind.VariableBegin, "{{", start)); Tag(block: false, start); break;
            }
        }
        _tokens.Add(new Token(TokenKind.Eof, "", _src.Length));
    }

    private int FindTagStart(int from)
    {
        for (int i = _src.IndexOf('{', from); i >= 0 && i + 1 < _src.Length; i = _src.IndexOf('{', i + 1))
            if (_src[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    private void AddData(string text, int position)
    {
        if (text.Length > 0) _tokens.Add(new Token(TokenKind.Data, text, position));
    }

    /// <summary>Whitespace control of the text before a tag: "-" strips all trailing whitespace; otherwise
    /// lstrip_blocks drops the spaces between the line start and a block or comment tag.</summary>
    private string StripBefore(string text, char sign, char kind)
    {
        if (sign == '-') return PyStrings.RStrip(text);
        if (sign == '+' || !_lstripBlocks || kind == '{') return text;
        int lineStart = text.LastIndexOf('\n') + 1;
        if ((lineStart > 0 || _lineStarting) && PyStrings.IsAllSpace(text, lineStart)) return text[..lineStart];
        return text;
    }

    /// <summary>After a block or comment end: "-" skips all whitespace, "+" nothing, plain trim_blocks one newline.</summary>
    private void AfterEnd(char sign, bool trims)
    {
        int before = _pos;
        if (sign == '-') while (_pos < _src.Length && PyStrings.IsSpace(_src[_pos])) _pos++;
        else if (sign == '\0' && trims && _trimBlocks && _pos < _src.Length && _src[_pos] == '\n') _pos++;
        _lineStarting = _pos > before && _src[_pos - 1] == '\n';
    }

    private void Comment(int start)
    {
        for (int i = _pos; i + 1 < _src.Length; i++)
        {
            char sign = _src[i] is '-' or '+' && i + 2 < _src.Length && _src[i + 1] == '#' && _src[i + 2] == '}' ? _src[i] : '\0';
            if (sign == '\0' && !(_src[i] == '#' && _src[i + 1] == '}')) continue;
            _pos = i + (sign != '\0' ? 3 : 2);
            AfterEnd(sign, trims: true);
            return;
        }
        throw new JinjaException("missing end of comment tag", start);
    }

    /// <summary>"{% raw %}" (with optional whitespace signs): true with the offset where its body starts.</summary>
    private bool TryRaw(int p, out int bodyStart)
    {
        bodyStart = 0;
        int i = SkipSpace(p);
        if (string.CompareOrdinal(_src, i, "raw", 0, 3) != 0) return false;
        i = SkipSpace(i + 3);
        char sign = '\0';
        if (i < _src.Length && _src[i] == '-') { sign = '-'; i++; }
        if (string.CompareOrdinal(_src, i, "%}", 0, 2) != 0) return false;
        _pos = i + 2;
        if (sign == '-') while (_pos < _src.Length && PyStrings.IsSpace(_src[_pos])) _pos++;
        _lineStarting = _src[_pos - 1] == '\n';
        bodyStart = _pos;
        return true;
    }

    private void RawBlock(int bodyStart)
    {
        for (int i = _src.IndexOf("{%", bodyStart, StringComparison.Ordinal); i >= 0; i = _src.IndexOf("{%", i + 2, StringComparison.Ordinal))
        {
            int p = i + 2;
            char sign = p < _src.Length && _src[p] is '-' or '+' ? _src[p] : '\0';
            int j = SkipSpace(p + (sign != '\0' ? 1 : 0));
            if (string.CompareOrdinal(_src, j, "endraw", 0, 6) != 0) continue;
            j = SkipSpace(j + 6);
            char endSign = j < _src.Length && _src[j] is '-' or '+' ? _src[j] : '\0';
            int k = j + (endSign != '\0' ? 1 : 0);
            if (string.CompareOrdinal(_src, k, "%}", 0, 2) != 0) continue;
            AddData(StripBefore(_src[bodyStart..i], sign, '%'), bodyStart);
            _pos = k + 2;
            AfterEnd(endSign, trims: true);
            return;
        }
        throw new JinjaException("missing end of raw directive", bodyStart);
    }

    private int SkipSpace(int i)
    {
        while (i < _src.Length && char.IsWhiteSpace(_src[i])) i++;
        return i;
    }

    private void Tag(bool block, int start)
    {
        var brackets = new Stack<(char Close, int Position)>();
        while (true)
        {
            if (_pos >= _src.Length)
                throw new JinjaException($"unexpected end of template, expected '{(block ? "%}" : "}}")}'", start);
            if (brackets.Count == 0 && TryTagEnd(block)) return;
            char c = _src[_pos];
            if (char.IsWhiteSpace(c)) { _pos++; continue; }
            if (TryNumber()) continue;
            if (char.IsLetter(c) || c == '_')
            {
                int s = _pos;
                while (_pos < _src.Length && IsNameChar(_src[_pos])) _pos++;
                _tokens.Add(new Token(TokenKind.Name, _src[s.._pos], s));
                continue;
            }
            if (c is '\'' or '"') { StringLiteral(c); continue; }
            string? op = null;
            foreach (var candidate in Operators)
                if (string.CompareOrdinal(_src, _pos, candidate, 0, candidate.Length) == 0) { op = candidate; break; }
            if (op is null) throw new JinjaException($"unexpected char '{c}'", _pos);
            if (op is "(" or "[" or "{") brackets.Push((op switch { "(" => ')', "[" => ']', _ => '}' }, _pos));
            else if (op is ")" or "]" or "}")
            {
                if (brackets.Count == 0) throw new JinjaException($"unexpected '{op}'", _pos);
                var (close, _) = brackets.Pop();
                if (close != op[0]) throw new JinjaException($"unexpected '{op}', expected '{close}'", _pos);
            }
            _tokens.Add(new Token(TokenKind.Operator, op, _pos));
            _pos += op.Length;
        }
    }

    private static bool IsNameChar(char c) => char.IsLetterOrDigit(c) || c == '_'
        || char.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.ConnectorPunctuation;

    private bool TryTagEnd(bool block)
    {
        string close = block ? "%}" : "}}";
        char sign = _src[_pos] is '-' or '+' ? _src[_pos] : '\0';
        if (sign == '+' && !block) sign = '\0';
        int at = _pos + (sign != '\0' ? 1 : 0);
        if (string.CompareOrdinal(_src, at, close, 0, 2) != 0) return false;
        _tokens.Add(new Token(block ? TokenKind.BlockEnd : TokenKind.VariableEnd, close, _pos));
        _pos = at + 2;
        AfterEnd(sign, trims: block);
        return true;
    }

    private static bool IsDigit(char c) => c is >= '0' and <= '9';

    /// <summary>Integer (decimal, 0b, 0o, 0x, with "_" separators) or float literal, as Jinja2's regexes.</summary>
    private bool TryNumber()
    {
        int s = _pos;
        if (!IsDigit(_src[s])) return false;
        bool afterDot = s > 0 && _src[s - 1] == '.';
        int i = Digits(s);
        int intEnd = i;
        bool isFloat = false;
        if (!afterDot)
        {
            int j = i;
            if (j < _src.Length && _src[j] == '.' && j + 1 < _src.Length && IsDigit(_src[j + 1])) { j = Digits(j + 1); isFloat = true; }
            if (j < _src.Length && _src[j] is 'e' or 'E')
            {
                int k = j + 1;
                if (k < _src.Length && _src[k] is '+' or '-') k++;
                if (k < _src.Length && IsDigit(_src[k])) { j = Digits(k); isFloat = true; }
            }
            if (isFloat) i = j;
        }
        if (isFloat)
        {
            string text = _src[s..i].Replace("_", "");
            _tokens.Add(new Token(TokenKind.Float, text, s, double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture)));
            _pos = i;
            return true;
        }
        // Integers: 0b/0o/0x prefixes, a decimal without leading zeros, or zeros.
        if (_src[s] == '0' && s + 1 < _src.Length && char.ToLowerInvariant(_src[s + 1]) is 'b' or 'o' or 'x')
        {
            int radix = char.ToLowerInvariant(_src[s + 1]) switch { 'b' => 2, 'o' => 8, _ => 16 };
            int k = s + 2;
            var digits = new StringBuilder();
            while (k < _src.Length)
            {
                if (_src[k] == '_' && k + 1 < _src.Length && RadixDigit(_src[k + 1], radix) >= 0) k++;
                int d = RadixDigit(_src[k], radix);
                if (d < 0) break;
                digits.Append(_src[k]);
                k++;
            }
            if (digits.Length > 0)
            {
                _tokens.Add(new Token(TokenKind.Integer, _src[s..k], s, ParseRadix(digits.ToString(), radix, s)));
                _pos = k;
                return true;
            }
        }
        if (_src[s] == '0')
        {
            int k = s + 1;
            while (k < _src.Length && (_src[k] == '0' || _src[k] == '_' && k + 1 < _src.Length && _src[k + 1] == '0')) k++;
            intEnd = k;
        }
        string intText = _src[s..intEnd].Replace("_", "");
        if (!long.TryParse(intText, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
            throw new JinjaException($"integer literal {intText} does not fit in 64 bits", s);
        _tokens.Add(new Token(TokenKind.Integer, intText, s, value));
        _pos = intEnd;
        return true;
    }

    /// <summary>End of a run of digits with single "_" separators between them.</summary>
    private int Digits(int i)
    {
        while (i < _src.Length && (IsDigit(_src[i]) || _src[i] == '_' && i + 1 < _src.Length && IsDigit(_src[i + 1]) && i > 0 && IsDigit(_src[i - 1]))) i++;
        return i;
    }

    private static int RadixDigit(char c, int radix)
    {
        int d = c is >= '0' and <= '9' ? c - '0' : char.ToLowerInvariant(c) is >= 'a' and <= 'f' ? char.ToLowerInvariant(c) - 'a' + 10 : -1;
        return d < radix ? d : -1;
    }

    private static long ParseRadix(string digits, int radix, int position)
    {
        long v = 0;
        foreach (char c in digits)
        {
            try { v = checked(v * radix + RadixDigit(c, radix)); }
            catch (OverflowException) { throw new JinjaException("integer literal does not fit in 64 bits", position); }
        }
        return v;
    }

    private void StringLiteral(char quote)
    {
        int s = _pos;
        int i = s + 1;
        while (i < _src.Length && _src[i] != quote)
            i += _src[i] == '\\' && i + 1 < _src.Length ? 2 : 1;
        if (i >= _src.Length) throw new JinjaException("unterminated string literal", s);
        _tokens.Add(new Token(TokenKind.String, Unescape(_src, s + 1, i), s));
        _pos = i + 1;
    }

    /// <summary>Python's unicode-escape decoding of a string literal's body; unknown escapes stay as written.</summary>
    private static string Unescape(string src, int from, int to)
    {
        int bs = src.IndexOf('\\', from, to - from);
        if (bs < 0) return src[from..to];
        var sb = new StringBuilder(to - from);
        sb.Append(src, from, bs - from);
        for (int i = bs; i < to; i++)
        {
            char c = src[i];
            if (c != '\\' || i + 1 >= to) { sb.Append(c); continue; }
            char e = src[++i];
            switch (e)
            {
                case '\n': break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case >= '0' and <= '7':
                {
                    int v = 0, n = 0;
                    while (n < 3 && i < to && src[i] is >= '0' and <= '7') { v = v * 8 + (src[i] - '0'); i++; n++; }
                    i--;
                    sb.Append(PyStrings.FromCodePoint(v));
                    break;
                }
                case 'x' or 'u' or 'U':
                {
                    int len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (to - (i + 1) < len || src.AsSpan(i + 1, len).ContainsAnyExcept("0123456789abcdefABCDEF"))
                        throw new JinjaException($"truncated \\{e} escape in string literal", i - 1);
                    long cp = long.Parse(src.AsSpan(i + 1, len), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                    if (cp > 0x10FFFF) throw new JinjaException($"illegal Unicode character \\{e}{src.Substring(i + 1, len)} in string literal", i - 1);
                    sb.Append(PyStrings.FromCodePoint((int)cp));
                    i += len;
                    break;
                }
                case 'N': throw new JinjaException("\\N{...} escapes are not supported in string literals", i - 1);
                default: sb.Append('\\').Append(e); break;
            }
        }
        return sb.ToString();
    }
}
