using System.Globalization;
using System.Text;

namespace FrSpec.Text.Jinja;

/// <summary>
/// Python string formatting as templates use it: `"%s: %d" % (a, b)` (and the format filter) and `"{}".format(x)`.
/// Conversions s, r, d/i, f, x/X and %; width, alignment, zero padding and precision. Anything else is an error.
/// </summary>
internal static class PyFormatting
{
    public static string Percent(string format, Value args, Budget budget)
    {
        Value[] positional = args is ListValue { IsTuple: true } t ? t.Items : [args];
        var mapping = args as DictValue;
        int next = 0;
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%') { sb.Append(c); continue; }
            if (++i >= format.Length) throw new JinjaException("incomplete format");
            Value? value = null;
            if (format[i] == '(')
            {
                int close = format.IndexOf(')', i);
                if (close < 0) throw new JinjaException("incomplete format key");
                if (mapping is null) throw new JinjaException("format requires a mapping");
                string key = format[(i + 1)..close];
                if (!mapping.Entries.TryGetValue(key, out value)) throw new JinjaException($"'{key}' is not in the format mapping");
                i = close + 1;
            }
            var spec = new Spec();
            while (i < format.Length && format[i] is '-' or '+' or ' ' or '#' or '0')
            {
                if (format[i] == '-') spec.Align = '<';
                else if (format[i] == '0') spec.Zero = true;
                else if (format[i] is '+' or ' ') spec.Sign = format[i];
                i++;
            }
            spec.Width = ReadNumber(format, ref i, () => TakeInt(positional, ref next));
            if (i < format.Length && format[i] == '.')
            {
                i++;
                spec.Precision = ReadNumber(format, ref i, () => TakeInt(positional, ref next)) ?? 0;
            }
            if (i >= format.Length) throw new JinjaException("incomplete format");
            char type = format[i];
            if (type == '%') { sb.Append('%'); continue; }
            value ??= mapping is not null && args is DictValue ? args : Take(positional, ref next);
            if (spec.Align == '\0') spec.Align = '>';
            sb.Append(FormatOne(value, type, spec, budget));
        }
        if (mapping is null && next < positional.Length)
            throw new JinjaException("not all arguments converted during string formatting");
        return sb.ToString();
    }

    private static int? ReadNumber(string format, ref int i, Func<long> star)
    {
        if (i < format.Length && format[i] == '*') { i++; return (int)Math.Clamp(star(), 0, 1 << 20); }
        int start = i;
        while (i < format.Length && char.IsAsciiDigit(format[i])) i++;
        if (i == start) return null;
        return int.TryParse(format.AsSpan(start, i - start), out int n) && n <= 1 << 20 ? n : throw new JinjaException("format width or precision is too big");
    }

    private static Value Take(Value[] args, ref int next)
        => next < args.Length ? args[next++] : throw new JinjaException("not enough arguments for format string");

    private static long TakeInt(Value[] args, ref int next)
        => Take(args, ref next) is IntValue i ? i.Value : throw new JinjaException("* wants int");

    private struct Spec
    {
        public char Fill, Align, Sign;
        public bool Zero;
        public int? Width, Precision;
    }

    private static string FormatOne(Value v, char type, Spec spec, Budget budget)
    {
        string body;
        switch (type)
        {
            case 's': body = PyRepr.Str(v, budget); if (spec.Precision is int p && p < body.Length) body = body[..p]; break;
            case 'r' or 'a': body = PyRepr.Repr(v, budget); break;
            case 'd' or 'i' or 'u':
                body = Number(v) switch
                {
                    IntValue i => i.Value.ToString(CultureInfo.InvariantCulture),
                    FloatValue f => Math.Truncate(f.Value).ToString("F0", CultureInfo.InvariantCulture),
                    _ => throw new JinjaException($"%{type} format: a real number is required, not {v.TypeName}"),
                };
                break;
            case 'f' or 'F':
                body = Operators.AsDouble(Number(v)).ToString("F" + (spec.Precision ?? 6), CultureInfo.InvariantCulture);
                break;
            case 'x' or 'X':
                if (Number(v) is not IntValue h) throw new JinjaException($"%{type} format: an integer is required, not {v.TypeName}");
                body = (h.Value < 0 ? "-" : "") + Math.Abs(h.Value).ToString(type == 'x' ? "x" : "X", CultureInfo.InvariantCulture);
                break;
            default: throw new JinjaException($"unsupported format character '{type}'");
        }
        if (spec.Sign != '\0' && type is not ('s' or 'r' or 'a') && !body.StartsWith('-')) body = spec.Sign + body;
        return Pad(body, spec, numeric: type is not ('s' or 'r' or 'a'));
    }

    private static Value Number(Value v) => v switch
    {
        BoolValue b => IntValue.Of(b.Value ? 1 : 0),
        IntValue or FloatValue => v,
        _ => throw new JinjaException($"a number is required, not {v.TypeName}"),
    };

    private static string Pad(string body, Spec spec, bool numeric)
    {
        int width = spec.Width ?? 0;
        if (body.Length >= width) return body;
        int pad = width - body.Length;
        if (spec.Zero && numeric && spec.Align != '<')
        {
            int signLength = body.Length > 0 && body[0] is '-' or '+' or ' ' ? 1 : 0;
            return body[..signLength] + new string('0', pad) + body[signLength..];
        }
        char fill = spec.Fill == '\0' ? ' ' : spec.Fill;
        return spec.Align switch
        {
            '<' => body + new string(fill, pad),
            '^' => new string(fill, pad / 2) + body + new string(fill, pad - pad / 2),
            _ => new string(fill, pad) + body,
        };
    }

    /// <summary>str.format(*args, **kwargs): {} {0} {name} with .attr / [key] access, !s / !r and a format spec.</summary>
    public static string Format(string format, Arguments args, Interpreter interp)
    {
        var sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c == '}')
            {
                if (i + 1 < format.Length && format[i + 1] == '}') { sb.Append('}'); i++; continue; }
                throw new JinjaException("single '}' encountered in format string");
            }
            if (c != '{') { sb.Append(c); continue; }
            if (i + 1 < format.Length && format[i + 1] == '{') { sb.Append('{'); i++; continue; }
            int close = format.IndexOf('}', i);
            if (close < 0) throw new JinjaException("single '{' encountered in format string");
            string field = format[(i + 1)..close];
            i = close;
            string specText = "";
            int colon = field.IndexOf(':');
            if (colon >= 0) { specText = field[(colon + 1)..]; field = field[..colon]; }
            char conversion = '\0';
            int bang = field.IndexOf('!');
            if (bang >= 0)
            {
                if (bang + 2 != field.Length || field[bang + 1] is not ('s' or 'r' or 'a')) throw new JinjaException("invalid conversion in format string");
                conversion = field[bang + 1];
                field = field[..bang];
            }
            int end = field.IndexOfAny(['.', '[']);
            string head = end < 0 ? field : field[..end];
            Value v;
            if (head.Length == 0)
            {
                if (auto < 0) throw new JinjaException("cannot switch from manual field numbering to automatic");
                v = auto < args.Positional.Length ? args.Positional[auto++] : throw new JinjaException($"replacement index {auto} out of range");
            }
            else if (char.IsAsciiDigit(head[0]))
            {
                if (auto > 0) throw new JinjaException("cannot switch from automatic field numbering to manual");
                auto = -1;
                int idx = int.TryParse(head, out int n) ? n : int.MaxValue;
                v = idx < args.Positional.Length ? args.Positional[idx] : throw new JinjaException($"replacement index {head} out of range");
            }
            else v = args.Keywords.FirstOrDefault(k => k.Key == head).Value ?? throw new JinjaException($"'{head}' is not given to format()");
            int p = end < 0 ? field.Length : end;
            while (p < field.Length)
            {
                if (field[p] == '.')
                {
                    int q = field.IndexOfAny(['.', '['], p + 1);
                    if (q < 0) q = field.Length;
                    v = interp.GetAttribute(v, field[(p + 1)..q]);
                    p = q;
                }
                else
                {
                    int q = field.IndexOf(']', p);
                    if (q < 0) throw new JinjaException("missing ']' in format string");
                    string key = field[(p + 1)..q];
                    v = interp.GetItem(v, int.TryParse(key, out int k) ? IntValue.Of(k) : StringValue.Of(key));
                    p = q + 1;
                }
            }
            if (conversion is 'r' or 'a') v = StringValue.Of(PyRepr.Repr(v, interp.Budget));
            else if (conversion == 's') v = StringValue.Of(PyRepr.Str(v, interp.Budget));
            sb.Append(FormatSpec(v, specText, interp.Budget));
        }
        return sb.ToString();
    }

    /// <summary>A format spec: [[fill]align][sign][0][width][.precision][type] for str, int and float.</summary>
    private static string FormatSpec(Value v, string spec, Budget budget)
    {
        if (spec.Length == 0) return PyRepr.Str(v, budget);
        var s = new Spec();
        int i = 0;
        if (spec.Length >= 2 && spec[1] is '<' or '>' or '^') { s.Fill = spec[0]; s.Align = spec[1]; i = 2; }
        else if (spec[0] is '<' or '>' or '^') { s.Align = spec[0]; i = 1; }
        if (i < spec.Length && spec[i] is '+' or '-' or ' ') { if (spec[i] != '-') s.Sign = spec[i]; i++; }
        if (i < spec.Length && spec[i] == '0') { s.Zero = true; i++; }
        s.Width = ReadNumber(spec, ref i, () => throw new JinjaException("invalid format spec"));
        if (i < spec.Length && spec[i] == '.') { i++; s.Precision = ReadNumber(spec, ref i, () => throw new JinjaException("invalid format spec")); }
        char type = i < spec.Length ? spec[i++] : '\0';
        if (i != spec.Length) throw new JinjaException($"invalid format specifier '{spec}'");
        bool numeric = v is IntValue or FloatValue or BoolValue;
        if (s.Align == '\0') s.Align = numeric ? '>' : '<';
        if (type == '\0') type = v switch { StringValue => 's', IntValue or BoolValue => 'd', FloatValue => s.Precision is null ? 'r' : 'f', _ => 's' };
        if (type == 'r') return Pad(PyRepr.Str(v, budget), s, numeric);
        if (type == 's' && v is not StringValue) throw new JinjaException($"unknown format code 's' for object of type '{v.TypeName}'");
        return FormatOne(v, type, s, budget);
    }
}
