namespace FrSpec.Text.Jinja;

/// <summary>Python's slicing and index rules (negative indexes count from the end, out-of-range bounds clamp).</summary>
internal static class Slices
{
    private static long? Index(Value? v, string what) => v switch
    {
        null or NoneValue or UndefinedValue => null,
        IntValue i => i.Value,
        BoolValue b => b.Value ? 1 : 0,
        _ => throw new JinjaException($"{what} indices must be integers or None, not {v.TypeName}"),
    };

    /// <summary>The indexes `seq[start:stop:step]` selects from a sequence of <paramref name="length"/> items.</summary>
    public static List<int> Select(int length, Value? start, Value? stop, Value? step)
    {
        long st = Index(step, "slice") ?? 1;
        if (st == 0) throw new JinjaException("slice step cannot be zero");
        long lo, hi;
        if (st > 0)
        {
            lo = Clamp(Index(start, "slice") ?? 0, length, 0, length);
            hi = Clamp(Index(stop, "slice") ?? length, length, 0, length);
        }
        else
        {
            lo = Clamp(Index(start, "slice") ?? length - 1, length, -1, length - 1);
            hi = Index(stop, "slice") is long s ? Clamp(s, length, -1, length - 1) : -1;
        }
        var result = new List<int>();
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) result.Add((int)i);
        return result;
    }

    private static long Clamp(long index, int length, long min, long max)
    {
        if (index < 0) index += length;
        return Math.Clamp(index, min, max);
    }

    /// <summary>A (start, end) range as Python's list.index / str.find read their start and end arguments.</summary>
    public static (int From, int To) Bounds(int length, Value? start, Value? end)
    {
        long a = Index(start, "slice") ?? 0, b = Index(end, "slice") ?? length;
        if (a < 0) a = Math.Max(0, a + length);
        if (b < 0) b = Math.Max(0, b + length);
        return ((int)Math.Min(a, length), (int)Math.Min(b, length));
    }

    /// <summary><see cref="Bounds"/> for a string, given in code points and returned as UTF-16 offsets.</summary>
    public static (int From, int To) StringBounds(string s, Value? start, Value? end)
    {
        if (PyStrings.IsBmp(s)) return Bounds(s.Length, start, end);
        var spans = PyStrings.CodePointSpans(s);
        var (from, to) = Bounds(spans.Count, start, end);
        int Offset(int cp) => cp >= spans.Count ? s.Length : spans[cp].Start;
        return (Offset(from), Offset(to));
    }

    /// <summary>seq[index] for a list or a string (by code point); null when out of range.</summary>
    public static Value? Item(Value seq, long index)
    {
        switch (seq)
        {
            case ListValue l:
                if (index < 0) index += l.Count;
                return index >= 0 && index < l.Count ? l.Items[index] : null;
            case StringValue s:
                if (PyStrings.IsBmp(s.Value))
                {
                    if (index < 0) index += s.Value.Length;
                    return index >= 0 && index < s.Value.Length ? StringValue.Of(s.Value[(int)index].ToString()) : null;
                }
                var chars = PyStrings.Characters(s.Value);
                if (index < 0) index += chars.Length;
                return index >= 0 && index < chars.Length ? StringValue.Of(chars[index]) : null;
            default:
                return null;
        }
    }

    public static Value Slice(Value seq, Value? start, Value? stop, Value? step, Budget budget)
    {
        switch (seq)
        {
            case ListValue l:
            {
                var idx = Select(l.Count, start, stop, step);
                var items = new Value[idx.Count];
                for (int i = 0; i < items.Length; i++) items[i] = l.Items[idx[i]];
                return budget.NewList(items, l.IsTuple);
            }
            case StringValue s:
            {
                if (PyStrings.IsBmp(s.Value))
                {
                    var idx = Select(s.Value.Length, start, stop, step);
                    var chars = new char[idx.Count];
                    for (int i = 0; i < chars.Length; i++) chars[i] = s.Value[idx[i]];
                    return budget.NewString(new string(chars));
                }
                var all = PyStrings.Characters(s.Value);
                return budget.NewString(string.Concat(Select(all.Length, start, stop, step).Select(i => all[i])));
            }
            default:
                return new UndefinedValue($"'{seq.TypeName}' object cannot be sliced");
        }
    }
}
