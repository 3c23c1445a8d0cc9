using System.Globalization;

namespace FrSpec.Text.Jinja;

/// <summary>Python's str() and repr() of template values: what `{{ value }}` prints (None, True, 1.0, ['a'], {'k': 1}).</summary>
internal static class PyRepr
{
    public static string Str(Value v, Budget budget) => v switch
    {
        StringValue s => s.Value,
        UndefinedValue => "",
        NoneValue => "None",
        BoolValue b => b.Value ? "True" : "False",
        IntValue i => i.Value.ToString(CultureInfo.InvariantCulture),
        FloatValue f => FloatRepr(f.Value),
        _ => Build(v, budget, repr: false),
    };

    public static string Repr(Value v, Budget budget) => Build(v, budget, repr: true);

    private static string Build(Value v, Budget budget, bool repr)
    {
        var sb = new TextBuilder(budget);
        Append(sb, v, repr, 0);
        return sb.Build();
    }

    private static void Append(TextBuilder sb, Value v, bool repr, int depth)
    {
        switch (v)
        {
            case StringValue s:
                if (repr) AppendQuoted(sb, s.Value);
                else sb.Append(s.Value);
                return;
            case UndefinedValue:
                sb.Append(repr ? "Undefined" : "");
                return;
            case ListValue l:
                sb.Budget.CheckDepth(depth + 1, "values");
                sb.Append(l.IsTuple ? '(' : '[');
                for (int i = 0; i < l.Items.Length; i++)
                {
                    if (i > 0) sb.Append(", ");
                    Append(sb, l.Items[i], true, depth + 1);
                }
                if (l.IsTuple && l.Items.Length == 1) sb.Append(',');
                sb.Append(l.IsTuple ? ')' : ']');
                return;
            case DictValue d:
                AppendDict(sb, d.Entries, depth);
                return;
            case NamespaceValue ns:
                sb.Append("<Namespace ");
                AppendDict(sb, ns.Attributes, depth);
                sb.Append('>');
                return;
            case CallableValue c:
                sb.Append("<function ").Append(c.Name).Append('>');
                return;
            case LoopValue loop:
                sb.Append($"<LoopContext {loop.Index0 + 1}/{PyRepr.Str(loop.GetAttribute("length"), sb.Budget)}>");
                return;
            default:
                sb.Append(Str(v, sb.Budget));
                return;
        }
    }

    private static void AppendDict(TextBuilder sb, OrderedDictionary<string, Value> entries, int depth)
    {
        sb.Budget.CheckDepth(depth + 1, "values");
        sb.Append('{');
        bool first = true;
        foreach (var (k, val) in entries)
        {
            if (!first) sb.Append(", ");
            first = false;
            AppendQuoted(sb, k);
            sb.Append(": ");
            Append(sb, val, true, depth + 1);
        }
        sb.Append('}');
    }

    /// <summary>repr() of a str: single quotes unless it holds ' and no ", escapes for unprintable characters.</summary>
    private static void AppendQuoted(TextBuilder sb, string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        foreach (var (cp, start, length) in PyStrings.CodePointSpans(s))
        {
            if (cp == quote || cp == '\\') sb.Append('\\').Append((char)cp);
            else if (cp == '\t') sb.Append("\\t");
            else if (cp == '\n') sb.Append("\\n");
            else if (cp == '\r') sb.Append("\\r");
            else if (cp < 0x20 || cp == 0x7f) sb.Append($"\\x{cp:x2}");
            else if (cp < 0x7f || IsPrintable(s, start)) sb.Append(s, start, length);
            else if (cp <= 0xff) sb.Append($"\\x{cp:x2}");
            else if (cp <= 0xffff) sb.Append($"\\u{cp:x4}");
            else sb.Append($"\\U{cp:x8}");
        }
        sb.Append(quote);
    }

    private static bool IsPrintable(string s, int index) => CharUnicodeInfo.GetUnicodeCategory(s, index) switch
    {
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
            or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
            or UnicodeCategory.SpaceSeparator => false,
        _ => true,
    };

    /// <summary>Python's repr() of a float: the shortest digits that round-trip, positional between 1e-4 and 1e16.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        var (negative, digits, point) = ShortestDigits(d);
        string body;
        if (point <= -4 || point > 16)
        {
            int exp = point - 1;
            body = digits[..1] + (digits.Length > 1 ? "." + digits[1..] : "") + "e" + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
        }
        else if (point <= 0) body = "0." + new string('0', -point) + digits;
        else if (point >= digits.Length) body = digits + new string('0', point - digits.Length) + ".0";
        else body = digits[..point] + "." + digits[point..];
        return negative ? "-" + body : body;
    }

    /// <summary>Shortest round-trip decimal digits of a finite non-zero double and the decimal point position:
    /// |d| = 0.DIGITS × 10^point.</summary>
    private static (bool Negative, string Digits, int Point) ShortestDigits(double d)
    {
        string r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOfAny(['E', 'e']);
        int exp = e >= 0 ? int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) : 0;
        string mantissa = e >= 0 ? r[..e] : r;
        int dot = mantissa.IndexOf('.');
        string intPart = dot >= 0 ? mantissa[..dot] : mantissa;
        string frac = dot >= 0 ? mantissa[(dot + 1)..] : "";
        string all = intPart + frac;
        int point = intPart.Length + exp;
        int lead = 0;
        while (lead < all.Length - 1 && all[lead] == '0') { lead++; point--; }
        all = all[lead..].TrimEnd('0');
        return (d < 0, all.Length == 0 ? "0" : all, point);
    }
}
