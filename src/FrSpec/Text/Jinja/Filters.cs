using System.Globalization;
using System.Numerics;
using System.Text;

namespace FrSpec.Text.Jinja;

/// <summary>
/// Jinja2's built-in filters as transformers runs them (tojson is transformers' own: no HTML escaping, keys in
/// insertion order, indent/separators/sort_keys/ensure_ascii). Filters that would produce Python generators (map,
/// select, reverse, ...) return lists. Filters with non-deterministic or I/O behaviour (random, urlize, ...) do not exist.
/// </summary>
internal static class Filters
{
    private delegate Value Filter(Interpreter interp, Value operand, Arguments args);

    private static readonly Dictionary<string, Filter> All = new()
    {
        ["abs"] = (i, v, a) =>
        {
            a.Bind("abs", []);
            return v switch
            {
                IntValue n => n.Value == long.MinValue ? throw new JinjaException("integer overflow") : IntValue.Of(Math.Abs(n.Value)),
                BoolValue b => IntValue.Of(b.Value ? 1 : 0),
                FloatValue f => new FloatValue(Math.Abs(f.Value)),
                _ => throw new JinjaException($"bad operand type for abs(): '{v.TypeName}'"),
            };
        },
        ["attr"] = (i, v, a) =>
        {
            var name = Str(i, a.Bind("attr", ["name"], 1)[0]!);
            return v switch
            {
                NamespaceValue ns => ns.Attributes.TryGetValue(name, out var x) ? x : Missing(v, name),
                LoopValue loop => loop.GetAttribute(name),
                _ => Methods.Get(v, name) ?? Missing(v, name),
            };
        },
        ["batch"] = (i, v, a) =>
        {
            var p = a.Bind("batch", ["linecount", "fill_with"], 1);
            long size = Int(p[0]!, "batch");
            var rows = new List<Value>();
            var row = new List<Value>();
            foreach (var item in Operators.Iterate(v))
            {
                if (row.Count == size) { rows.Add(i.Budget.NewList(row.ToArray())); row.Clear(); }
                row.Add(item);
            }
            if (row.Count > 0)
            {
                if (p[1] is not null and not NoneValue) while (row.Count < size) row.Add(p[1]!);
                rows.Add(i.Budget.NewList(row.ToArray()));
            }
            return i.Budget.NewList(rows.ToArray());
        },
        ["capitalize"] = (i, v, a) => { a.Bind("capitalize", []); return i.Budget.NewString(PyStrings.Capitalize(Str(i, v))); },
        ["center"] = (i, v, a) =>
        {
            var width = a.Bind("center", ["width"])[0] ?? IntValue.Of(80);
            return i.Call(Methods.Get(StringValue.Of(Str(i, v)), "center")!, Arguments.Of(width));
        },
        ["default"] = (i, v, a) =>
        {
            var p = a.Bind("default", ["default_value", "boolean"]);
            bool replace = v is UndefinedValue || p[1] is not null && Operators.Truthy(p[1]!) && !Operators.Truthy(v);
            return replace ? p[0] ?? StringValue.Empty : v;
        },
        ["dictsort"] = (i, v, a) =>
        {
            var p = a.Bind("dictsort", ["case_sensitive", "by", "reverse"]);
            bool caseSensitive = Flag(p[0]), reverse = Flag(p[2]);
            string by = p[1] is null ? "key" : Str(i, p[1]!);
            if (by is not ("key" or "value")) throw new JinjaException("You can only sort by either \"key\" or \"value\"");
            if (v is not DictValue d) throw new JinjaException($"dictsort: a mapping is required, not {v.TypeName}");
            var pairs = Methods.Items(d, i.Budget).Items;
            return i.Budget.NewList(Sort(i, pairs, x => SortKey(((ListValue)x).Items[by == "key" ? 0 : 1], caseSensitive), reverse));
        },
        ["escape"] = (i, v, a) => { a.Bind("escape", []); return i.Budget.NewString(HtmlEscape(Str(i, v))); },
        ["first"] = (i, v, a) =>
        {
            a.Bind("first", []);
            var items = Operators.Iterate(v);
            return items.Length > 0 ? items[0] : new UndefinedValue("No first item, sequence was empty.");
        },
        ["last"] = (i, v, a) =>
        {
            a.Bind("last", []);
            var items = Operators.Iterate(v);
            return items.Length > 0 ? items[^1] : new UndefinedValue("No last item, sequence was empty.");
        },
        ["float"] = (i, v, a) =>
        {
            var fallback = a.Bind("float", ["default"])[0] ?? new FloatValue(0);
            return ToFloat(v) is double d ? new FloatValue(d) : fallback;
        },
        ["format"] = (i, v, a) =>
        {
            if (a.Positional.Length > 0 && a.Keywords.Length > 0)
                throw new JinjaException("can't handle positional and keyword arguments at the same time");
            Value args = a.Keywords.Length > 0
                ? new DictValue(new OrderedDictionary<string, Value>(a.Keywords))
                : new ListValue(a.Positional, true);
            return i.Budget.NewString(PyFormatting.Percent(Str(i, v), args, i.Budget));
        },
        ["indent"] = (i, v, a) =>
        {
            var p = a.Bind("indent", ["width", "first", "blank"]);
            string indent = p[0] switch { null => "    ", StringValue s => s.Value, var w => new string(' ', (int)Math.Clamp(Int(w, "indent"), 0, 1 << 16)) };
            var lines = PyStrings.SplitLines(Str(i, v) + "\n");
            var sb = new TextBuilder(i.Budget);
            if (Flag(p[1])) sb.Append(indent);
            for (int k = 0; k < lines.Count; k++)
            {
                if (k > 0) sb.Append('\n');
                if (k > 0 && (lines[k].Length > 0 || Flag(p[2]))) sb.Append(indent);
                sb.Append(lines[k]);
            }
            return StringValue.Of(sb.Build());
        },
        ["int"] = (i, v, a) =>
        {
            var p = a.Bind("int", ["default", "base"]);
            return ToInt(v, p[1] is null ? 10 : (int)Int(p[1]!, "int")) is long n ? IntValue.Of(n) : p[0] ?? IntValue.Of(0);
        },
        ["items"] = (i, v, a) =>
        {
            a.Bind("items", []);
            return v switch
            {
                UndefinedValue => ListValue.EmptyList,
                DictValue d => Methods.Items(d, i.Budget),
                _ => throw new JinjaException("Can only get item pairs from a mapping."),
            };
        },
        ["join"] = (i, v, a) =>
        {
            var p = a.Bind("join", ["d", "attribute"]);
            string sep = p[0] is null ? "" : Str(i, p[0]!);
            var items = Operators.Iterate(v);
            if (p[1] is not null and not NoneValue) items = items.Select(AttributeGetter(i, p[1]!)).ToArray();
            var sb = new TextBuilder(i.Budget);
            for (int k = 0; k < items.Length; k++)
            {
                if (k > 0) sb.Append(sep);
                sb.Append(Str(i, items[k]));
            }
            return StringValue.Of(sb.Build());
        },
        ["length"] = (i, v, a) => { a.Bind("length", []); return IntValue.Of(Operators.Length(v)); },
        ["list"] = (i, v, a) => { a.Bind("list", []); return i.Budget.NewList((Value[])Operators.Iterate(v).Clone()); },
        ["lower"] = (i, v, a) => { a.Bind("lower", []); return i.Budget.NewString(PyStrings.Lower(Str(i, v))); },
        ["upper"] = (i, v, a) => { a.Bind("upper", []); return i.Budget.NewString(PyStrings.Upper(Str(i, v))); },
        ["map"] = (i, v, a) =>
        {
            var items = Operators.Iterate(v);
            Func<Value, Value> f;
            if (a.Positional.Length == 0 && a.Keywords.Any(k => k.Key == "attribute"))
            {
                var p = a.Bind("map", ["attribute", "default"]);
                f = AttributeGetter(i, p[0]!, fallback: p[1]);
            }
            else
            {
                if (a.Positional.Length == 0) throw new JinjaException("map requires a filter argument");
                string name = Str(i, a.Positional[0]);
                var rest = new Arguments(a.Positional[1..], a.Keywords);
                f = item => Apply(i, name, item, rest);
            }
            return i.Budget.NewList(items.Select(f).ToArray());
        },
        ["max"] = (i, v, a) => MinMax(i, v, a, "max"),
        ["min"] = (i, v, a) => MinMax(i, v, a, "min"),
        ["reject"] = (i, v, a) => Select(i, v, a, byAttribute: false, keep: false),
        ["rejectattr"] = (i, v, a) => Select(i, v, a, byAttribute: true, keep: false),
        ["select"] = (i, v, a) => Select(i, v, a, byAttribute: false, keep: true),
        ["selectattr"] = (i, v, a) => Select(i, v, a, byAttribute: true, keep: true),
        ["replace"] = (i, v, a) =>
        {
            var p = a.Bind("replace", ["old", "new", "count"], 2);
            long count = p[2] is null or NoneValue ? -1 : Int(p[2]!, "replace");
            return i.Budget.NewString(Methods.Replace(Str(i, v), Str(i, p[0]!), Str(i, p[1]!), count, i.Budget));
        },
        ["reverse"] = (i, v, a) =>
        {
            a.Bind("reverse", []);
            if (v is StringValue s) return i.Budget.NewString(string.Concat(PyStrings.Characters(s.Value).Reverse()));
            var items = (Value[])Operators.Iterate(v).Clone();
            Array.Reverse(items);
            return i.Budget.NewList(items);
        },
        ["round"] = (i, v, a) =>
        {
            var p = a.Bind("round", ["precision", "method"]);
            long precision = p[0] is null ? 0 : Int(p[0]!, "round");
            string method = p[1] is null ? "common" : Str(i, p[1]!);
            if (method is not ("common" or "ceil" or "floor")) throw new JinjaException("method must be common, ceil or floor");
            if (v is IntValue or BoolValue && method == "common") return IntValue.Of(precision >= 0 ? Int(v, "round") : (long)Round(Operators.AsDouble(v), precision));
            if (v is not (IntValue or FloatValue or BoolValue)) throw new JinjaException($"type {v.TypeName} doesn't define __round__ method");
            double x = Operators.AsDouble(v);
            if (method == "common") return new FloatValue(Round(x, precision));
            double scale = Math.Pow(10, precision);
            return new FloatValue((method == "ceil" ? Math.Ceiling(x * scale) : Math.Floor(x * scale)) / scale);
        },
        ["safe"] = (i, v, a) => { a.Bind("safe", []); return v is StringValue ? v : i.Budget.NewString(Str(i, v)); },
        ["sort"] = (i, v, a) =>
        {
            var p = a.Bind("sort", ["reverse", "case_sensitive", "attribute"]);
            var get = p[2] is null or NoneValue ? (x => x) : AttributeGetter(i, p[2]!);
            bool caseSensitive = Flag(p[1]);
            return i.Budget.NewList(Sort(i, Operators.Iterate(v), x => SortKey(get(x), caseSensitive), Flag(p[0])));
        },
        ["string"] = (i, v, a) => { a.Bind("string", []); return v is StringValue ? v : i.Budget.NewString(Str(i, v)); },
        ["sum"] = (i, v, a) =>
        {
            var p = a.Bind("sum", ["attribute", "start"]);
            Value total = p[1] ?? IntValue.Of(0);
            var get = p[0] is null or NoneValue ? (x => x) : AttributeGetter(i, p[0]!);
            foreach (var item in Operators.Iterate(v)) total = Operators.Binary("+", total, get(item), i.Budget);
            return total;
        },
        ["title"] = (i, v, a) => { a.Bind("title", []); return i.Budget.NewString(JinjaTitle(Str(i, v))); },
        ["tojson"] = (i, v, a) => i.Budget.NewString(JsonText.Serialize(v, JsonOptions(i, a), i.Budget)),
        ["trim"] = (i, v, a) =>
        {
            var chars = a.Bind("trim", ["chars"])[0];
            return StringValue.Of(PyStrings.Strip(Str(i, v), chars is null or NoneValue ? null : Str(i, chars), true, true));
        },
        ["truncate"] = (i, v, a) =>
        {
            var p = a.Bind("truncate", ["length", "killwords", "end", "leeway"]);
            string s = Str(i, v);
            long length = p[0] is null ? 255 : Int(p[0]!, "truncate"), leeway = p[3] is null or NoneValue ? 5 : Int(p[3]!, "truncate");
            string end = p[2] is null ? "..." : Str(i, p[2]!);
            if (length < end.Length) throw new JinjaException($"expected length >= {end.Length}, got {length}");
            if (leeway < 0) throw new JinjaException($"expected leeway >= 0, got {leeway}");
            var chars = PyStrings.Characters(s);
            if (chars.Length <= length + leeway) return StringValue.Of(s);
            string head = string.Concat(chars.Take((int)(length - end.Length)));
            if (!Flag(p[1]))
            {
                int space = head.LastIndexOf(' ');
                if (space >= 0) head = head[..space];
            }
            return i.Budget.NewString(head + end);
        },
        ["unique"] = (i, v, a) =>
        {
            var p = a.Bind("unique", ["case_sensitive", "attribute"]);
            var get = p[1] is null or NoneValue ? (x => x) : AttributeGetter(i, p[1]!);
            bool caseSensitive = Flag(p[0]);
            var seen = new List<Value>();
            var result = new List<Value>();
            foreach (var item in Operators.Iterate(v))
            {
                var key = SortKey(get(item), caseSensitive);
                if (key is ListValue { IsTuple: false } or DictValue) throw new JinjaException($"unhashable type: '{key.TypeName}'");
                if (seen.Any(s => Operators.Equal(s, key, i.Budget))) continue;
                seen.Add(key);
                result.Add(item);
            }
            return i.Budget.NewList(result.ToArray());
        },
        ["wordcount"] = (i, v, a) =>
        {
            a.Bind("wordcount", []);
            int n = 0;
            bool inWord = false;
            foreach (char c in Str(i, v))
            {
                bool w = char.IsLetterOrDigit(c) || c == '_';
                if (w && !inWord) n++;
                inWord = w;
            }
            return IntValue.Of(n);
        },
    };

    private static readonly Dictionary<string, string> Aliases = new() { ["d"] = "default", ["e"] = "escape", ["count"] = "length", ["forceescape"] = "escape" };

    public static bool Exists(string name) => All.ContainsKey(Aliases.GetValueOrDefault(name, name));

    public static Value Apply(Interpreter interp, string name, Value operand, Arguments args)
    {
        if (!All.TryGetValue(Aliases.GetValueOrDefault(name, name), out var filter)) throw new JinjaException($"no filter named '{name}'");
        return filter(interp, operand, args);
    }

    private static string Str(Interpreter i, Value v) => PyRepr.Str(v, i.Budget);

    private static bool Flag(Value? v) => v is not null && Operators.Truthy(v);

    private static long Int(Value v, string filter) => v switch
    {
        IntValue i => i.Value,
        BoolValue b => b.Value ? 1 : 0,
        _ => throw new JinjaException($"{filter}: an integer is required, not {v.TypeName}"),
    };

    private static Value Missing(Value obj, string name) => new UndefinedValue($"'{obj.TypeName} object' has no attribute '{name}'");

    /// <summary>Jinja's make_attrgetter: "a.b.0" looks up item (then attribute) a, then b, then index 0.</summary>
    private static Func<Value, Value> AttributeGetter(Interpreter interp, Value attribute, Value? fallback = null)
    {
        Value[] parts = attribute switch
        {
            StringValue s => s.Value.Split('.').Select(p => p.Length > 0 && p.All(char.IsAsciiDigit) && long.TryParse(p, out long n)
                ? (Value)IntValue.Of(n) : StringValue.Of(p)).ToArray(),
            IntValue n => [n],
            _ => throw new JinjaException($"attribute must be a string or an integer, not {attribute.TypeName}"),
        };
        return item =>
        {
            foreach (var part in parts) item = interp.GetItem(item, part);
            return fallback is not null and not NoneValue && item is UndefinedValue ? fallback : item;
        };
    }

    private static Value SortKey(Value v, bool caseSensitive)
        => !caseSensitive && v is StringValue s ? StringValue.Of(PyStrings.Lower(s.Value)) : v;

    /// <summary>Python's sorted(): stable, also when reversed.</summary>
    private static Value[] Sort(Interpreter i, Value[] items, Func<Value, Value> key, bool reverse)
    {
        var keyed = items.Select(x => (Key: key(x), Item: x)).ToArray();
        var comparer = Comparer<Value>.Create((x, y) => Operators.CompareForSort(x, y, i.Budget));
        var ordered = reverse ? keyed.OrderByDescending(k => k.Key, comparer) : keyed.OrderBy(k => k.Key, comparer);
        return ordered.Select(k => k.Item).ToArray();
    }

    private static Value MinMax(Interpreter i, Value v, Arguments a, string which)
    {
        var p = a.Bind(which, ["case_sensitive", "attribute"]);
        var get = p[1] is null or NoneValue ? (x => x) : AttributeGetter(i, p[1]!);
        bool caseSensitive = Flag(p[0]);
        Value? best = null, bestKey = null;
        foreach (var item in Operators.Iterate(v))
        {
            var key = SortKey(get(item), caseSensitive);
            if (best is null || Operators.Order(which == "min" ? "<" : ">", key, bestKey!, i.Budget)) { best = item; bestKey = key; }
        }
        return best ?? new UndefinedValue("No aggregated item, sequence was empty.");
    }

    private static Value Select(Interpreter i, Value v, Arguments a, bool byAttribute, bool keep)
    {
        int off = 0;
        Func<Value, Value> get = x => x;
        if (byAttribute)
        {
            if (a.Positional.Length == 0) throw new JinjaException("Missing parameter for attribute name");
            get = AttributeGetter(i, a.Positional[0]);
            off = 1;
        }
        Func<Value, bool> test;
        if (a.Positional.Length > off)
        {
            string name = Str(i, a.Positional[off]);
            var rest = new Arguments(a.Positional[(off + 1)..], a.Keywords);
            test = x => Predicates.Apply(i, name, x, rest);
        }
        else test = Operators.Truthy;
        return i.Budget.NewList(Operators.Iterate(v).Where(x => test(get(x)) == keep).ToArray());
    }

    private static JsonText.Options JsonOptions(Interpreter i, Arguments a)
    {
        var p = a.Bind("tojson", ["ensure_ascii", "indent", "separators", "sort_keys"]);
        string? indent = p[1] switch
        {
            null or NoneValue => null,
            StringValue s => s.Value,
            var n => new string(' ', (int)Math.Clamp(Int(n, "tojson"), 0, 1 << 10)),
        };
        string item = indent is null ? ", " : ",", key = ": ";
        if (p[2] is not null and not NoneValue)
        {
            if (p[2] is not ListValue { Count: 2 } seps || seps.Items[0] is not StringValue s0 || seps.Items[1] is not StringValue s1)
                throw new JinjaException("tojson: separators must be a pair of strings");
            (item, key) = (s0.Value, s1.Value);
        }
        return new JsonText.Options(indent, item, key, Flag(p[3]), Flag(p[0]));
    }

    private static string HtmlEscape(string s)
        => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&#34;").Replace("'", "&#39;");

    /// <summary>Jinja's title filter: words start after "-", whitespace or an opening bracket.</summary>
    private static string JinjaTitle(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool start = true;
        foreach (char c in s)
        {
            bool separator = c is '-' or '(' or '{' or '[' or '<' || PyStrings.IsSpace(c);
            sb.Append(separator ? c : start ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            start = separator;
        }
        return sb.ToString();
    }

    /// <summary>Python's float() of a value; null where it raises (then the filter's default applies).</summary>
    private static double? ToFloat(Value v)
    {
        switch (v)
        {
            case FloatValue f: return f.Value;
            case IntValue or BoolValue: return Operators.AsDouble(v);
            case StringValue s:
            {
                string t = PyStrings.Strip(s.Value, null, true, true).ToLowerInvariant();
                string u = t.TrimStart('+', '-');
                if (u is "inf" or "infinity") return t.StartsWith('-') ? double.NegativeInfinity : double.PositiveInfinity;
                if (u == "nan") return double.NaN;
                if (t.Length == 0 || t.Contains("__") || t.StartsWith('_') || t.EndsWith('_') || t.Contains("_.") || t.Contains("._")) return null;
                return double.TryParse(t.Replace("_", ""), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : null;
            }
            default: return null;
        }
    }

    /// <summary>Jinja's int filter: int(value, base), else int(float(value)); null when both fail.</summary>
    private static long? ToInt(Value v, int radix)
    {
        switch (v)
        {
            case IntValue i: return i.Value;
            case BoolValue b: return b.Value ? 1 : 0;
            case FloatValue f: return Truncate(f.Value);
            case StringValue s:
            {
                string t = PyStrings.Strip(s.Value, null, true, true).Replace("_", "");
                if (radix == 10 && long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n)) return n;
                if (radix is 2 or 8 or 16)
                {
                    bool neg = t.StartsWith('-');
                    string digits = t.TrimStart('+', '-');
                    string prefix = radix switch { 2 => "0b", 8 => "0o", _ => "0x" };
                    if (digits.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) digits = digits[2..];
                    try
                    {
                        long value = Convert.ToInt64(digits, radix);
                        return neg ? -value : value;
                    }
                    catch (Exception e) when (e is FormatException or OverflowException or ArgumentException) { }
                }
                return ToFloat(v) is double d && !double.IsNaN(d) ? Truncate(d) : null;
            }
            default: return null;
        }

        static long Truncate(double d)
        {
            if (double.IsNaN(d) || double.IsInfinity(d) || Math.Abs(d) >= 9.2e18) throw new JinjaException("cannot convert float to integer");
            return (long)Math.Truncate(d);
        }
    }

    /// <summary>Python's round(x, ndigits): the exact binary value rounded half to even at that decimal place.</summary>
    public static double Round(double x, long ndigits)
    {
        if (double.IsNaN(x) || double.IsInfinity(x) || x == 0) return x;
        if (ndigits > 330) return x;
        if (ndigits < -330) return x < 0 ? -0.0 : 0.0;
        long bits = BitConverter.DoubleToInt64Bits(Math.Abs(x));
        int exp = (int)((bits >> 52) & 0x7FF);
        long mant = bits & 0xFFFFFFFFFFFFFL;
        if (exp == 0) exp = 1; else mant |= 1L << 52;
        exp -= 1075;
        BigInteger num = mant, den = BigInteger.One;
        if (exp >= 0) num <<= exp; else den <<= -exp;
        if (ndigits >= 0) num *= BigInteger.Pow(10, (int)ndigits);
        else den *= BigInteger.Pow(10, (int)-ndigits);
        var q = BigInteger.DivRem(num, den, out var r);
        int c = (r * 2).CompareTo(den);
        if (c > 0 || c == 0 && !q.IsEven) q += 1;
        string digits = q.ToString(CultureInfo.InvariantCulture) + "E" + (-ndigits).ToString(CultureInfo.InvariantCulture);
        double result = double.Parse(digits, NumberStyles.Float, CultureInfo.InvariantCulture);
        return x < 0 ? -result : result;
    }
}
