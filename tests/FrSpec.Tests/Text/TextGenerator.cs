using System.Text;

namespace FrSpec.Tests.Text;

/// <summary>
/// Seeded generator of varied test strings for tokenizer parity: prose, code, CJK, emoji, whitespace runs, digits,
/// special-token text, combining marks, lone surrogates. It avoids the few characters where the JS reference knowingly
/// differs from HF tokenizers (U+FEFF and U+0085, which JS's \s treats differently, and U+017F long s after an
/// apostrophe), and characters assigned after Unicode 13 (the runtimes' Unicode tables differ in version).
/// </summary>
internal sealed class TextGenerator(int seed)
{
    private readonly Random _rng = new(seed);

    private static readonly string[] Words =
    [
        "the", "of", "and", "to", "in", "is", "that", "it", "was", "for", "on", "are", "with", "as", "I", "his", "they",
        "be", "at", "one", "have", "this", "from", "by", "hot", "word", "but", "what", "some", "we", "can", "out", "other",
        "were", "all", "there", "when", "up", "use", "your", "how", "said", "an", "each", "she", "which", "do", "their",
        "time", "if", "will", "way", "about", "many", "then", "them", "write", "would", "like", "so", "these", "her",
        "long", "make", "thing", "see", "him", "two", "has", "look", "more", "day", "could", "go", "come", "did", "number",
        "sound", "no", "most", "people", "my", "over", "know", "water", "than", "call", "first", "who", "may", "down",
        "Speculative", "decoding", "EAGLE", "FR-Spec", "tokenizer", "Hugging", "Face", "café", "naïve", "résumé",
        "Zürich", "São", "Paulo", "straße", "Ångström", "jalapeño", "coöperate", "don't", "I'm", "we'll", "they're",
        "you've", "she'd", "it's", "IT'S", "WE'LL", "They'Re", "antidisestablishmentarianism", "xylophone", "qwerty",
        "việc", "hợp", "nhiều", "Tiếng", "Việt", "được", "người",
    ];

    private static readonly string[] CodeSnippets =
    [
        "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}\n",
        "    if (x != null && y >= 3) { throw new ArgumentException(\"bad\"); }", "const re = /[a-z]+\\d{2,}/gu;",
        "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); }", "SELECT id, name FROM users WHERE age > 21;",
        "fn main() -> Result<(), Box<dyn Error>> {\r\n    Ok(())\r\n}", "<div class=\"x\">&nbsp;&lt;tag&gt;</div>",
        "x = [1, 2, 3]\ny = {k: v for k, v in zip(a, b)}", "$ ls -la | grep '^d' > out.txt 2>&1",
        "    \n\n        return;\n\n\n", "a+=b;c-=d;e*=f;g/=h;i%=j;", "λx.λy.x", "// TODO: fix this!!!\n/* block */",
    ];

    private static readonly string[] Specials =
    [
        "<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|end_of_text|>", "<|eom_id|>",
        "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>", "<s>", "</s>", "<unk>",
        "<|eot_id", "<|im_", "<s", "</ s>", "<|reserved_special_token_5|>", "< s>", "<<s>>", "<|vision_pad|>",
    ];

    public string Next()
    {
        int kind = _rng.Next(16);
        var sb = new StringBuilder();
        int parts = 1 + _rng.Next(kind == 15 ? 40 : 6);
        for (int p = 0; p < parts; p++) Append(sb, kind == 15 ? _rng.Next(15) : kind);
        return sb.ToString();
    }

    private void Append(StringBuilder sb, int kind)
    {
        switch (kind)
        {
            case 0: case 1: Prose(sb); break;
            case 2: sb.Append(Pick(CodeSnippets)); break;
            case 3: Range(sb, 1 + _rng.Next(12), (0x4E00, 0x9FA5), (0x3041, 0x3096), (0x30A1, 0x30FA), (0xAC00, 0xD7A3), (0x3000, 0x3003), (0xFF01, 0xFF5E)); break;
            case 4: Emoji(sb); break;
            case 5: Whitespace(sb); break;
            case 6: Digits(sb); break;
            case 7: sb.Append(Pick(Specials)); if (_rng.Next(2) == 0) Prose(sb); break;
            case 8: sb.Append(_rng.Next(4) switch { 0 => "\uD800", 1 => "\uDC00x", 2 => "a\uDBFF", _ => "\uDFFF\uD800" }); break;
            case 9: Combining(sb); break;
            case 10: Range(sb, 1 + _rng.Next(15), (0x0410, 0x044F), (0x0391, 0x03C9), (0x05D0, 0x05EA), (0x0627, 0x064A), (0x0905, 0x0939), (0x093E, 0x094D), (0x0E01, 0x0E3A)); break;
            case 11: Punctuation(sb); break;
            case 12: Contractions(sb); break;
            case 13: Bytes(sb); break;
            default: Prose(sb); Whitespace(sb); break;
        }
    }

    private T Pick<T>(T[] items) => items[_rng.Next(items.Length)];

    private void Prose(StringBuilder sb)
    {
        int n = 1 + _rng.Next(20);
        for (int i = 0; i < n; i++)
        {
            var w = Pick(Words);
            if (_rng.Next(8) == 0) w = char.ToUpperInvariant(w[0]) + w[1..];
            if (_rng.Next(20) == 0) w = w.ToUpperInvariant();
            sb.Append(w);
            sb.Append(_rng.Next(10) switch { 0 => ", ", 1 => ". ", 2 => "\n", 3 => "  ", _ => " " });
        }
    }

    private void Range(StringBuilder sb, int n, params (int Lo, int Hi)[] ranges)
    {
        for (int i = 0; i < n; i++)
        {
            var (lo, hi) = ranges[_rng.Next(ranges.Length)];
            sb.Append(char.ConvertFromUtf32(_rng.Next(lo, hi + 1)));
            if (_rng.Next(6) == 0) sb.Append(' ');
        }
    }

    private void Emoji(StringBuilder sb)
    {
        switch (_rng.Next(6))
        {
            case 0: sb.Append(char.ConvertFromUtf32(_rng.Next(0x1F600, 0x1F64F))); break;
            case 1: sb.Append("👨‍👩‍👧‍👦"); break;
            case 2: sb.Append("👍").Append(char.ConvertFromUtf32(0x1F3FB + _rng.Next(5))); break;
            case 3: sb.Append("🇫🇷🇯🇵"); break;
            case 4: sb.Append("❤️ ☺️ ✔"); break;
            default: sb.Append(char.ConvertFromUtf32(_rng.Next(0x1F300, 0x1F5FF))).Append(char.ConvertFromUtf32(_rng.Next(0x1F680, 0x1F6C5))); break;
        }
        if (_rng.Next(2) == 0) sb.Append(' ');
    }

    private void Whitespace(StringBuilder sb)
    {
        string[] ws = [" ", " ", " ", "\t", "\n", "\r\n", "\r", "\u00A0", "\u3000", "\u2003", "\u2028", "\u000B", "\u000C"];
        int n = 1 + _rng.Next(_rng.Next(4) == 0 ? 200 : 12);
        for (int i = 0; i < n; i++) sb.Append(Pick(ws));
        if (_rng.Next(2) == 0) sb.Append(Pick(Words));
    }

    private void Digits(StringBuilder sb)
    {
        switch (_rng.Next(5))
        {
            case 0: for (int i = 0, n = 1 + _rng.Next(30); i < n; i++) sb.Append((char)('0' + _rng.Next(10))); break;
            case 1: sb.Append($"{_rng.Next(100000)}.{_rng.Next(1000)} "); break;
            case 2: sb.Append("٣٤٥ ½ ² Ⅻ ①②"); break;
            case 3: sb.Append($"${_rng.Next(10000):N0},{_rng.Next(99)}%"); break;
            default: sb.Append($" {_rng.Next(10)}x{_rng.Next(1000)} = {_rng.NextDouble():F6}"); break;
        }
    }

    private void Combining(StringBuilder sb)
    {
        string[] items = ["e\u0301", "a\u0300\u0323", "o\u0308\u0304", "\u1100\u1161\u11A8", "\u1112\u1161\u11AB", "A\u030A",
            "\u0041\u0328\u0301", "Vie\u0323\u0302t Nam", "n\u0303", "\u212B", "\u2126", "\u1E9B\u0323", "\u0958", "\uFB01"];
        for (int i = 0, n = 1 + _rng.Next(5); i < n; i++) sb.Append(Pick(items));
    }

    private void Punctuation(StringBuilder sb)
    {
        const string p = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~«»¿¡…—–“”‘’•·§¶©®™°±×÷";
        for (int i = 0, n = 1 + _rng.Next(15); i < n; i++)
        {
            sb.Append(p[_rng.Next(p.Length)]);
            if (_rng.Next(5) == 0) sb.Append(_rng.Next(3) == 0 ? "\n" : " ");
        }
    }

    private void Contractions(StringBuilder sb)
    {
        string[] c = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'LL", "'D", "'x", "''", "'"];
        sb.Append(Pick(Words)).Append(Pick(c));
        if (_rng.Next(2) == 0) sb.Append(Pick(Words));
        sb.Append(' ');
    }

    /// <summary>Characters made of any UTF-8 byte length, including controls and rarely used ranges.</summary>
    private void Bytes(StringBuilder sb)
    {
        for (int i = 0, n = 1 + _rng.Next(10); i < n; i++)
        {
            int cp = _rng.Next(4) switch
            {
                0 => _rng.Next(0x01, 0x80),
                1 => _rng.Next(0x80, 0x800),
                2 => _rng.Next(0x800, 0xD800),
                _ => _rng.Next(0x10000, 0x1FAFF),
            };
            if (cp is 0x85 or 0xFEFF or 0x17F || !IsOldAssigned(cp)) cp = 'z';
            sb.Append(char.ConvertFromUtf32(cp));
        }
    }

    /// <summary>True for code points assigned by Unicode 13 (so every runtime classifies them alike).</summary>
    private static bool IsOldAssigned(int cp)
    {
        var cat = System.Globalization.CharUnicodeInfo.GetUnicodeCategory(cp);
        if (cat is System.Globalization.UnicodeCategory.OtherNotAssigned) return false;
        // Blocks that received characters after Unicode 13 are avoided as a whole.
        return cp < 0x10000 ? cp is < 0x0860 or (>= 0x0900 and < 0x1AB0) or (>= 0x1E00 and < 0x2C00) or (>= 0x3000 and < 0x9FA5) or (>= 0xAC00 and < 0xD7A4)
                            : cp is (>= 0x1F300 and < 0x1F6D0);
    }
}
