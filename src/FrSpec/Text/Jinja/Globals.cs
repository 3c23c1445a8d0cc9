namespace FrSpec.Text.Jinja;

/// <summary>
/// The functions a template can call by name: Jinja's range, dict, namespace and joiner, and transformers'
/// raise_exception and strftime_now (the clock is the render's, so tests can fix it).
/// </summary>
internal static class Globals
{
    /// <summary>Jinja's sandbox refuses larger ranges.</summary>
    public const int MaxRange = 100_000;

    public static void AddTo(Scope scope)
    {
        scope.Set("range", new CallableValue("range", Range));
        scope.Set("dict", new CallableValue("dict", (i, a) => new DictValue(Mapping("dict", a))));
        scope.Set("namespace", new CallableValue("namespace", (i, a) => new NamespaceValue(Mapping("namespace", a))));
        scope.Set("joiner", new CallableValue("joiner", Joiner));
        scope.Set("raise_exception", new CallableValue("raise_exception", (i, a) =>
        {
            var message = a.Bind("raise_exception", ["message"], 1)[0]!;
            throw new JinjaException(PyRepr.Str(message, i.Budget), raisedByTemplate: true);
        }));
        scope.Set("strftime_now", new CallableValue("strftime_now", (i, a) =>
        {
            var format = a.Bind("strftime_now", ["format"], 1)[0]!;
            if (format is not StringValue f) throw new JinjaException($"strftime_now() argument must be str, not {format.TypeName}");
            return i.Budget.NewString(Strftime.Format(i.Clock(), f.Value));
        }));
    }

    private static long RangeInt(Value v) => v switch
    {
        IntValue i => i.Value,
        BoolValue b => b.Value ? 1 : 0,
        _ => throw new JinjaException($"'{v.TypeName}' object cannot be interpreted as an integer"),
    };

    private static Value Range(Interpreter interp, Arguments a)
    {
        a.NoKeywords("range");
        var p = a.Positional;
        if (p.Length is 0 or > 3) throw new JinjaException($"range expected 1 to 3 arguments, got {p.Length}");
        long start = p.Length == 1 ? 0 : RangeInt(p[0]), stop = RangeInt(p[p.Length == 1 ? 0 : 1]), step = p.Length == 3 ? RangeInt(p[2]) : 1;
        if (step == 0) throw new JinjaException("range() arg 3 must not be zero");
        double count = Math.Max(0, Math.Ceiling(((double)stop - start) / step));
        if (count > MaxRange) throw new JinjaException($"Range too big. The sandbox blocks ranges larger than MAX_RANGE ({MaxRange}).");
        var items = new Value[(int)count];
        for (int k = 0; k < items.Length; k++) items[k] = IntValue.Of(start + k * step);
        return interp.Budget.NewList(items);
    }

    /// <summary>dict(mapping_or_pairs, **kwargs), as Python's dict() and Jinja's namespace() take it.</summary>
    private static OrderedDictionary<string, Value> Mapping(string function, Arguments a)
    {
        if (a.Positional.Length > 1) throw new JinjaException($"{function} expected at most 1 argument, got {a.Positional.Length}");
        var entries = new OrderedDictionary<string, Value>();
        if (a.Positional.Length == 1)
        {
            switch (a.Positional[0])
            {
                case DictValue d:
                    foreach (var (k, v) in d.Entries) entries[k] = v;
                    break;
                case ListValue l:
                    foreach (var pair in l.Items)
                    {
                        var kv = pair is ListValue or StringValue ? Operators.Iterate(pair) : throw new JinjaException($"cannot convert {function} update sequence element to a sequence");
                        if (kv.Length != 2) throw new JinjaException($"{function} update sequence element has length {kv.Length}; 2 is required");
                        entries[kv[0] is StringValue s ? s.Value : throw new JinjaException($"{function} keys must be strings here")] = kv[1];
                    }
                    break;
                default:
                    throw new JinjaException($"'{a.Positional[0].TypeName}' object is not iterable");
            }
        }
        foreach (var (k, v) in a.Keywords) entries[k] = v;
        return entries;
    }

    private static Value Joiner(Interpreter interp, Arguments a)
    {
        var sep = a.Bind("joiner", ["sep"])[0] ?? StringValue.Of(", ");
        bool used = false;
        return new CallableValue("joiner", (_, _) =>
        {
            if (used) return sep;
            used = true;
            return StringValue.Empty;
        });
    }
}
