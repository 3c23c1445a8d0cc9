using System.Text;

namespace FrSpec.Text.Jinja;

/// <summary>
/// The Python methods templates call on values (message.content.startswith(...), text.split(...),
/// tool.items(), d.get(k)). As in transformers' ImmutableSandboxedEnvironment, methods that would change a list or
/// dict (append, pop, update, ...) are refused.
/// </summary>
internal static class Methods
{
    private static readonly HashSet<string> UnsafeList = ["append", "clear", "pop", "reverse", "insert", "sort", "extend", "remove"];
    private static readonly HashSet<string> UnsafeDict = ["clear", "pop", "popitem", "setdefault", "update"];

    /// <summary>The bound method <paramref name="name"/> of <paramref name="receiver"/>, or null when it has none.</summary>
    public static Value? Get(Value receiver, string name) => receiver switch
    {
        StringValue s => StringMethod(s.Value, name),
        ListValue l => ListMethod(l, name),
        DictValue d => DictMethod(d, name),
        _ => null,
    };

    /// <summary>Whether a dict has a method of this name: `d.name` then means the method, not the key.</summary>
    public static bool IsDictAttribute(string name) => name is "get" or "items" or "keys" or "values" or "copy" || UnsafeDict.Contains(name);

    private static CallableValue Method(string name, Func<Interpreter, Arguments, Value> f) => new(name, f);

    private static Value Unsafe(string type, string name)
        => new UndefinedValue($"access to attribute '{name}' of '{type}' object is unsafe (templates cannot change their inputs)");

    private static Value? DictMethod(DictValue d, string name)
    {
        if (UnsafeDict.Contains(name)) return Unsafe("dict", name);
        return name switch
        {
            "get" => Method("dict.get", (_, a) =>
            {
                var p = a.Bind("get", ["key", "default"], 1);
                return p[0] is StringValue k && d.Entries.TryGetValue(k.Value, out var v) ? v : p[1] ?? NoneValue.Instance;
            }),
            "items" => Method("dict.items", (i, a) => { a.Bind("items", []); return Items(d, i.Budget); }),
            "keys" => Method("dict.keys", (i, a) => { a.Bind("keys", []); return i.Budget.NewList(d.Entries.Keys.Select(k => (Value)StringValue.Of(k)).ToArray()); }),
            "values" => Method("dict.values", (i, a) => { a.Bind("values", []); return i.Budget.NewList(d.Entries.Values.ToArray()); }),
            "copy" => Method("dict.copy", (_, a) => { a.Bind("copy", []); return new DictValue(new OrderedDictionary<string, Value>(d.Entries)); }),
            _ => null,
        };
    }

    /// <summary>dict.items() as a list of (key, value) tuples.</summary>
    public static ListValue Items(DictValue d, Budget budget)
        => budget.NewList(d.Entries.Select(e => (Value)new ListValue([StringValue.Of(e.Key), e.Value], true)).ToArray());

    private static Value? ListMethod(ListValue l, string name)
    {
        if (UnsafeList.Contains(name)) return l.IsTuple ? null : Unsafe("list", name);
        return name switch
        {
            "count" => Method("count", (i, a) =>
            {
                var p = a.Bind("count", ["value"], 1);
                return IntValue.Of(l.Items.Count(x => Operators.Equal(x, p[0]!, i.Budget)));
            }),
            "index" => Method("index", (i, a) =>
            {
                var p = a.Bind("index", ["value", "start", "stop"], 1);
                var (from, to) = Slices.Bounds(l.Count, p[1], p[2]);
                for (int k = from; k < to; k++)
                    if (Operators.Equal(l.Items[k], p[0]!, i.Budget)) return IntValue.Of(k);
                throw new JinjaException($"{PyRepr.Repr(p[0]!, i.Budget)} is not in {l.TypeName}");
            }),
            "copy" when !l.IsTuple => Method("list.copy", (i, a) => { a.Bind("copy", []); return i.Budget.NewList((Value[])l.Items.Clone()); }),
            _ => null,
        };
    }

    private static string Str(Value? v, string function, string what = "argument")
        => v is StringValue s ? s.Value : throw new JinjaException($"{function}() {what} must be str, not {v?.TypeName ?? "nothing"}");

    private static string? OptStr(Value? v, string function)
        => v is null or NoneValue ? null : Str(v, function);

    private static long Int(Value? v, string function, long fallback)
        => v switch
        {
            null or NoneValue => fallback,
            IntValue i => i.Value,
            BoolValue b => b.Value ? 1 : 0,
            _ => throw new JinjaException($"{function}() argument must be an integer, not {v.TypeName}"),
        };

    private static Value? StringMethod(string s, string name)
    {
        switch (name)
        {
            case "upper": return Method("str.upper", (i, a) => { a.Bind("upper", []); return i.Budget.NewString(PyStrings.Upper(s)); });
            case "lower" or "casefold": return Method("str.lower", (i, a) => { a.Bind(name, []); return i.Budget.NewString(PyStrings.Lower(s)); });
            case "title": return Method("str.title", (i, a) => { a.Bind("title", []); return i.Budget.NewString(PyStrings.Title(s)); });
            case "capitalize": return Method("str.capitalize", (i, a) => { a.Bind("capitalize", []); return i.Budget.NewString(PyStrings.Capitalize(s)); });
            case "swapcase":
                return Method("str.swapcase", (i, a) =>
                {
                    a.Bind("swapcase", []);
                    var sb = new StringBuilder(s.Length);
                    foreach (char c in s) sb.Append(char.IsUpper(c) ? char.ToLowerInvariant(c) : char.IsLower(c) ? char.ToUpperInvariant(c) : c);
                    return i.Budget.NewString(sb.ToString());
                });
            case "strip" or "lstrip" or "rstrip":
                return Method("str." + name, (i, a) =>
                {
                    var p = a.Bind(name, ["chars"]);
                    return StringValue.Of(PyStrings.Strip(s, OptStr(p[0], name), name != "rstrip", name != "lstrip"));
                });
            case "split" or "rsplit":
                return Method("str." + name, (i, a) =>
                {
                    var p = a.Bind(name, ["sep", "maxsplit"]);
                    string? sep = OptStr(p[0], name);
                    long max = Int(p[1], name, -1);
                    if (sep is { Length: 0 }) throw new JinjaException("empty separator");
                    var parts = sep is null ? PyStrings.SplitWhitespace(s, max, name == "rsplit") : PyStrings.Split(s, sep, max, name == "rsplit");
                    return i.Budget.NewList(parts.Select(x => (Value)StringValue.Of(x)).ToArray());
                });
            case "splitlines":
                return Method("str.splitlines", (i, a) =>
                {
                    var p = a.Bind("splitlines", ["keepends"]);
                    return i.Budget.NewList(PyStrings.SplitLines(s, p[0] is not null && Operators.Truthy(p[0]!)).Select(x => (Value)StringValue.Of(x)).ToArray());
                });
            case "startswith" or "endswith":
                return Method("str." + name, (i, a) =>
                {
                    var p = a.Bind(name, ["prefix", "start", "end"], 1);
                    var (from, to) = Slices.StringBounds(s, p[1], p[2]);
                    if (from > to) return BoolValue.False;
                    var span = s.AsSpan(from, to - from);
                    Value[] candidates = p[0] is ListValue { IsTuple: true } t ? t.Items : [p[0]!];
                    foreach (var c in candidates)
                    {
                        string x = c is StringValue sv ? sv.Value
                            : throw new JinjaException($"{name} first arg must be str or a tuple of str, not {c.TypeName}");
                        if (name == "startswith" ? span.StartsWith(x, StringComparison.Ordinal) : span.EndsWith(x, StringComparison.Ordinal))
                            return BoolValue.True;
                    }
                    return BoolValue.False;
                });
            case "find" or "rfind" or "index" or "rindex" or "count":
                return Method("str." + name, (i, a) =>
                {
                    var p = a.Bind(name, ["sub", "start", "end"], 1);
                    string sub = Str(p[0], name);
                    var (from, to) = Slices.StringBounds(s, p[1], p[2]);
                    if (name == "count")
                    {
                        if (from > to) return IntValue.Of(0);
                        if (sub.Length == 0) return IntValue.Of(PyStrings.Length(s[from..to]) + 1);
                        int n = 0, k = from;
                        while (k + sub.Length <= to)
                        {
                            int f = s.IndexOf(sub, k, to - k, StringComparison.Ordinal);
                            if (f < 0) break;
                            n++;
                            k = f + sub.Length;
                        }
                        return IntValue.Of(n);
                    }
                    int found = from > to ? -1 : name is "find" or "index"
                        ? s.IndexOf(sub, from, to - from, StringComparison.Ordinal)
                        : LastIndex(s, sub, from, to);
                    if (found < 0 && name is "index" or "rindex") throw new JinjaException("substring not found");
                    return IntValue.Of(found < 0 ? -1 : PyStrings.Length(s[..found]));
                });
            case "replace":
                return Method("str.replace", (i, a) =>
                {
                    var p = a.Bind("replace", ["old", "new", "count"], 2);
                    return i.Budget.NewString(Replace(s, Str(p[0], "replace"), Str(p[1], "replace"), Int(p[2], "replace", -1), i.Budget));
                });
            case "join":
                return Method("str.join", (i, a) =>
                {
                    var p = a.Bind("join", ["iterable"], 1);
                    var items = Operators.Iterate(p[0]!);
                    var sb = new TextBuilder(i.Budget);
                    for (int k = 0; k < items.Length; k++)
                    {
                        if (k > 0) sb.Append(s);
                        sb.Append(items[k] is StringValue sv ? sv.Value
                            : throw new JinjaException($"sequence item {k}: expected str instance, {items[k].TypeName} found"));
                    }
                    return StringValue.Of(sb.Build());
                });
            case "format": return Method("str.format", (i, a) => i.Budget.NewString(PyFormatting.Format(s, a, i)));
            case "center" or "ljust" or "rjust":
                return Method("str." + name, (i, a) =>
                {
                    var p = a.Bind(name, ["width", "fillchar"], 1);
                    long width = Int(p[0], name, 0);
                    string fill = p[1] is null ? " " : Str(p[1], name);
                    if (PyStrings.Length(fill) != 1) throw new JinjaException("The fill character must be exactly one character long");
                    return i.Budget.NewString(Justify(s, width, fill, name, i.Budget));
                });
            case "zfill":
                return Method("str.zfill", (i, a) =>
                {
                    long width = Int(a.Bind("zfill", ["width"], 1)[0], "zfill", 0);
                    int len = PyStrings.Length(s);
                    if (width <= len) return StringValue.Of(s);
                    i.Budget.Allocate(width);
                    int sign = s.Length > 0 && s[0] is '+' or '-' ? 1 : 0;
                    return StringValue.Of(s[..sign] + new string('0', (int)(width - len)) + s[sign..]);
                });
            case "partition" or "rpartition":
                return Method("str." + name, (i, a) =>
                {
                    string sep = Str(a.Bind(name, ["sep"], 1)[0], name);
                    if (sep.Length == 0) throw new JinjaException("empty separator");
                    int k = name == "partition" ? s.IndexOf(sep, StringComparison.Ordinal) : s.LastIndexOf(sep, StringComparison.Ordinal);
                    Value[] parts = k < 0
                        ? name == "partition" ? [StringValue.Of(s), StringValue.Empty, StringValue.Empty] : [StringValue.Empty, StringValue.Empty, StringValue.Of(s)]
                        : [StringValue.Of(s[..k]), StringValue.Of(sep), StringValue.Of(s[(k + sep.Length)..])];
                    return new ListValue(parts, true);
                });
            case "removeprefix" or "removesuffix":
                return Method("str." + name, (i, a) =>
                {
                    string x = Str(a.Bind(name, ["affix"], 1)[0], name);
                    if (name == "removeprefix") return StringValue.Of(x.Length > 0 && s.StartsWith(x, StringComparison.Ordinal) ? s[x.Length..] : s);
                    return StringValue.Of(x.Length > 0 && s.EndsWith(x, StringComparison.Ordinal) ? s[..^x.Length] : s);
                });
            case "isalnum" or "isalpha" or "isdigit" or "isdecimal" or "isnumeric" or "isspace" or "islower" or "isupper" or "istitle":
                return Method("str." + name, (i, a) =>
                {
                    a.Bind(name, []);
                    return BoolValue.Of(name switch
                    {
                        "islower" => PyStrings.IsCase(s, upper: false),
                        "isupper" => PyStrings.IsCase(s, upper: true),
                        "istitle" => s.Length > 0 && PyStrings.Title(s) == s && s.Any(char.IsLetter),
                        "isspace" => PyStrings.IsAllSpace(s, 0),
                        _ => s.Length > 0 && s.All(c => name switch
                        {
                            "isalnum" => char.IsLetterOrDigit(c),
                            "isalpha" => char.IsLetter(c),
                            "isdecimal" or "isdigit" => char.IsDigit(c),
                            _ => char.IsNumber(c),
                        }),
                    });
                });
            default: return null;
        }
    }

    private static int LastIndex(string s, string sub, int from, int to)
    {
        if (sub.Length == 0) return to;
        if (to - from < sub.Length) return -1;
        int k = s.LastIndexOf(sub, to - 1, to - from, StringComparison.Ordinal);
        return k;
    }

    /// <summary>str.replace with Python's count (negative: all) and empty `old` (insert between characters).</summary>
    public static string Replace(string s, string old, string replacement, long count, Budget budget)
    {
        if (count == 0) return s;
        if (old.Length == 0)
        {
            var chars = PyStrings.Characters(s);
            var sb = new TextBuilder(budget);
            long done = 0;
            for (int k = 0; k <= chars.Length; k++)
            {
                if (count < 0 || done < count) { sb.Append(replacement); done++; }
                if (k < chars.Length) sb.Append(chars[k]);
            }
            return sb.Build();
        }
        var result = new TextBuilder(budget);
        int start = 0;
        long n = 0;
        while (count < 0 || n < count)
        {
            int k = s.IndexOf(old, start, StringComparison.Ordinal);
            if (k < 0) break;
            result.Append(s, start, k - start).Append(replacement);
            start = k + old.Length;
            n++;
        }
        result.Append(s, start, s.Length - start);
        return result.Build();
    }

    private static string Justify(string s, long width, string fill, string how, Budget budget)
    {
        long len = PyStrings.Length(s);
        if (width <= len) return s;
        budget.Allocate(width * fill.Length);
        int pad = (int)(width - len);
        string Fill(int n) => string.Concat(Enumerable.Repeat(fill, n));
        return how switch
        {
            "ljust" => s + Fill(pad),
            "rjust" => Fill(pad) + s,
            // CPython's centring rule: the odd fill character goes left when both the padding and the width are odd.
            _ => Fill(pad / 2 + (pad & (int)width & 1)) + s + Fill(pad - pad / 2 - (pad & (int)width & 1)),
        };
    }
}
