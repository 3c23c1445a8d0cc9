namespace FrSpec.Text.Jinja;

/// <summary>
/// The tojson filter as transformers defines it: Python's json.dumps(x, ensure_ascii=False, indent=None,
/// separators=None, sort_keys=False). Keys keep insertion order, non-ASCII text stays as is, floats print as Python's
/// repr; with an indent, items are separated by "," and each sits on its own line. Undefined prints as null (where
/// Python fails), as @huggingface/jinja does.
/// </summary>
internal static class JsonText
{
    internal sealed record Options(string? Indent, string ItemSeparator, string KeySeparator, bool SortKeys, bool EnsureAscii);

    public static Options DefaultOptions { get; } = new(null, ", ", ": ", false, false);

    public static string Serialize(Value v, Options options, Budget budget)
    {
        var sb = new TextBuilder(budget);
        Write(sb, v, options, 0);
        return sb.Build();
    }

    private static void Write(TextBuilder sb, Value v, Options o, int depth)
    {
        switch (v)
        {
            case NoneValue or UndefinedValue:
                sb.Append("null");
                return;
            case BoolValue b:
                sb.Append(b.Value ? "true" : "false");
                return;
            case IntValue i:
                sb.Append(PyRepr.Str(i, sb.Budget));
                return;
            case FloatValue f:
                sb.Append(double.IsNaN(f.Value) ? "NaN" : double.IsInfinity(f.Value) ? (f.Value > 0 ? "Infinity" : "-Infinity") : PyRepr.FloatRepr(f.Value));
                return;
            case StringValue s:
                WriteString(sb, s.Value, o.EnsureAscii);
                return;
            case ListValue l:
            {
                sb.Budget.CheckDepth(depth + 1, "values");
                if (l.Items.Length == 0) { sb.Append("[]"); return; }
                sb.Append('[');
                for (int i = 0; i < l.Items.Length; i++)
                {
                    if (i > 0) sb.Append(o.ItemSeparator);
                    NewLine(sb, o, depth + 1);
                    Write(sb, l.Items[i], o, depth + 1);
                }
                NewLine(sb, o, depth);
                sb.Append(']');
                return;
            }
            case DictValue d:
                WriteObject(sb, d.Entries, o, depth);
                return;
            case NamespaceValue ns:
                WriteObject(sb, ns.Attributes, o, depth);
                return;
            default:
                throw new JinjaException($"Object of type {v.TypeName} is not JSON serializable");
        }
    }

    private static void WriteObject(TextBuilder sb, OrderedDictionary<string, Value> entries, Options o, int depth)
    {
        sb.Budget.CheckDepth(depth + 1, "values");
        if (entries.Count == 0) { sb.Append("{}"); return; }
        IEnumerable<KeyValuePair<string, Value>> items = entries;
        if (o.SortKeys) items = entries.OrderBy(e => e.Key, Comparer<string>.Create(PyStrings.Compare));
        sb.Append('{');
        bool first = true;
        foreach (var (k, val) in items)
        {
            if (!first) sb.Append(o.ItemSeparator);
            first = false;
            NewLine(sb, o, depth + 1);
            WriteString(sb, k, o.EnsureAscii);
            sb.Append(o.KeySeparator);
            Write(sb, val, o, depth + 1);
        }
        NewLine(sb, o, depth);
        sb.Append('}');
    }

    private static void NewLine(TextBuilder sb, Options o, int depth)
    {
        if (o.Indent is null) return;
        sb.Append('\n');
        for (int i = 0; i < depth; i++) sb.Append(o.Indent);
    }

    public static void WriteString(TextBuilder sb, string s, bool ensureAscii)
    {
        sb.Append('"');
        int run = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            string? esc = c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                < ' ' => $"\\u{(int)c:x4}",
                > '~' when ensureAscii => $"\\u{(int)c:x4}",
                _ => null,
            };
            if (esc is null) { run++; continue; }
            if (run > 0) sb.Append(s, i - run, run);
            run = 0;
            sb.Append(esc);
        }
        if (run > 0) sb.Append(s, s.Length - run, run);
        sb.Append('"');
    }
}
