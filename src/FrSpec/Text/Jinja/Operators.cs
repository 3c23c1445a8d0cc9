namespace FrSpec.Text.Jinja;

/// <summary>
/// Python's semantics for the operators a template uses: truthiness, ==, ordering, `in`, + - * / // % **, unary
/// minus and iteration, with Jinja's Undefined (false, empty, equal only to Undefined, an error in arithmetic).
/// Integers are 64-bit: overflow is an error.
/// </summary>
internal static class Operators
{
    public static bool Truthy(Value v) => v switch
    {
        UndefinedValue or NoneValue => false,
        BoolValue b => b.Value,
        IntValue i => i.Value != 0,
        FloatValue f => f.Value != 0,
        StringValue s => s.Value.Length > 0,
        ListValue l => l.Count > 0,
        DictValue d => d.Entries.Count > 0,
        _ => true,
    };

    private static bool IsNumber(Value v) => v is IntValue or FloatValue or BoolValue;

    private static bool IsFloat(Value v) => v is FloatValue;

    private static long AsLong(Value v) => v switch
    {
        IntValue i => i.Value,
        BoolValue b => b.Value ? 1 : 0,
        _ => throw new InvalidOperationException(),
    };

    public static double AsDouble(Value v) => v switch
    {
        FloatValue f => f.Value,
        IntValue i => i.Value,
        BoolValue b => b.Value ? 1 : 0,
        _ => throw new InvalidOperationException(),
    };

    public static JinjaException Undefined(Value v) => new(((UndefinedValue)v).Hint);

    public static bool Equal(Value a, Value b, Budget budget, int depth = 0)
    {
        if (ReferenceEquals(a, b)) return true;
        if (IsNumber(a) && IsNumber(b))
            return IsFloat(a) || IsFloat(b) ? AsDouble(a) == AsDouble(b) : AsLong(a) == AsLong(b);
        switch (a)
        {
            case StringValue sa: return b is StringValue sb && sa.Value == sb.Value;
            case NoneValue: return b is NoneValue;
            case UndefinedValue: return b is UndefinedValue;
            case ListValue la:
                if (b is not ListValue lb || la.IsTuple != lb.IsTuple) return false;
                budget.CheckDepth(depth + 1, "values");
                return SequenceEquals(la.Items, lb.Items, budget, depth + 1);
            case DictValue da:
                if (b is not DictValue db || da.Entries.Count != db.Entries.Count) return false;
                budget.CheckDepth(depth + 1, "values");
                foreach (var (k, v) in da.Entries)
                    if (!db.Entries.TryGetValue(k, out var w) || !Equal(v, w, budget, depth + 1)) return false;
                return true;
            default: return false;
        }
    }

    public static bool SequenceEquals(Value[] a, Value[] b, Interpreter interp) => SequenceEquals(a, b, interp.Budget, 0);

    private static bool SequenceEquals(Value[] a, Value[] b, Budget budget, int depth)
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++)
            if (!Equal(a[i], b[i], budget, depth)) return false;
        return true;
    }

    /// <summary>&lt; &lt;= &gt; &gt;= between numbers, strings (by code point) or lists/tuples (lexicographic).</summary>
    public static bool Order(string op, Value a, Value b, Budget budget, int depth = 0)
    {
        if (a is UndefinedValue) throw Undefined(a);
        if (b is UndefinedValue) throw Undefined(b);
        if (IsNumber(a) && IsNumber(b))
        {
            if (!IsFloat(a) && !IsFloat(b)) return Holds(op, AsLong(a).CompareTo(AsLong(b)));
            double x = AsDouble(a), y = AsDouble(b);
            return op switch { "<" => x < y, "<=" => x <= y, ">" => x > y, _ => x >= y };
        }
        if (a is StringValue sa && b is StringValue sb) return Holds(op, PyStrings.Compare(sa.Value, sb.Value));
        if (a is ListValue la && b is ListValue lb && la.IsTuple == lb.IsTuple)
        {
            budget.CheckDepth(depth + 1, "values");
            int n = Math.Min(la.Count, lb.Count);
            for (int i = 0; i < n; i++)
                if (!Equal(la.Items[i], lb.Items[i], budget, depth + 1)) return Order(op, la.Items[i], lb.Items[i], budget, depth + 1);
            return Holds(op, la.Count.CompareTo(lb.Count));
        }
        throw new JinjaException($"'{op}' not supported between instances of '{a.TypeName}' and '{b.TypeName}'");
    }

    private static bool Holds(string op, int c) => op switch { "<" => c < 0, "<=" => c <= 0, ">" => c > 0, _ => c >= 0 };

    /// <summary>Sort order for the sort/dictsort/min/max filters (same rules as &lt;).</summary>
    public static int CompareForSort(Value a, Value b, Budget budget)
        => Order("<", a, b, budget) ? -1 : Order("<", b, a, budget) ? 1 : 0;

    /// <summary>`item in container`.</summary>
    public static bool Contains(Value container, Value item, Budget budget)
    {
        switch (container)
        {
            case StringValue s:
                if (item is not StringValue sub)
                    throw new JinjaException($"'in <string>' requires string as left operand, not {item.TypeName}");
                return s.Value.Contains(sub.Value, StringComparison.Ordinal);
            case ListValue l:
                foreach (var x in l.Items)
                    if (Equal(x, item, budget)) return true;
                return false;
            case DictValue d:
                if (item is ListValue { IsTuple: false } or DictValue) throw new JinjaException($"unhashable type: '{item.TypeName}'");
                return item is StringValue key && d.Entries.ContainsKey(key.Value);
            case UndefinedValue:
                return false;
            default:
                throw new JinjaException($"argument of type '{container.TypeName}' is not iterable");
        }
    }

    /// <summary>The items a for loop (or list()) sees: list items, dict keys, string characters; Undefined is empty.</summary>
    public static Value[] Iterate(Value v) => v switch
    {
        ListValue l => l.Items,
        DictValue d => d.Entries.Keys.Select(k => (Value)StringValue.Of(k)).ToArray(),
        StringValue s => PyStrings.Characters(s.Value).Select(c => (Value)StringValue.Of(c)).ToArray(),
        UndefinedValue => [],
        _ => throw new JinjaException($"'{v.TypeName}' object is not iterable"),
    };

    /// <summary>len() as Python: characters of a string, items of a list or dict; Undefined has length 0.</summary>
    public static long Length(Value v) => v switch
    {
        StringValue s => PyStrings.Length(s.Value),
        ListValue l => l.Count,
        DictValue d => d.Entries.Count,
        NamespaceValue => throw new JinjaException("object of type 'Namespace' has no len()"),
        UndefinedValue => 0,
        _ => throw new JinjaException($"object of type '{v.TypeName}' has no len()"),
    };

    private static JinjaException Overflow() => new("integer overflow (template integers are 64-bit)");

    private static JinjaException Unsupported(string op, Value a, Value b)
        => new($"unsupported operand type(s) for {op}: '{a.TypeName}' and '{b.TypeName}'");

    public static Value Binary(string op, Value a, Value b, Budget budget)
    {
        if (a is UndefinedValue) throw Undefined(a);
        if (b is UndefinedValue) throw Undefined(b);
        if (IsNumber(a) && IsNumber(b)) return Arithmetic(op, a, b);
        switch (op)
        {
            case "+":
                if (a is StringValue sa && b is StringValue sb)
                {
                    budget.Allocate((long)sa.Value.Length + sb.Value.Length);
                    return StringValue.Of(sa.Value + sb.Value);
                }
                if (a is ListValue la && b is ListValue lb && la.IsTuple == lb.IsTuple)
                    return budget.NewList([.. la.Items, .. lb.Items], la.IsTuple);
                if (a is StringValue) throw new JinjaException($"can only concatenate str (not \"{b.TypeName}\") to str");
                if (a is ListValue l1) throw new JinjaException($"can only concatenate {l1.TypeName} (not \"{b.TypeName}\") to {l1.TypeName}");
                break;
            case "*":
                if (a is IntValue or BoolValue && b is StringValue or ListValue) (a, b) = (b, a);
                if (a is StringValue s && b is IntValue or BoolValue)
                {
                    long n = Math.Max(0, AsLong(b));
                    if (n == 0 || s.Value.Length == 0) return StringValue.Empty;
                    budget.Allocate(SaturatingProduct(n, s.Value.Length));
                    return StringValue.Of(string.Concat(Enumerable.Repeat(s.Value, (int)n)));
                }
                if (a is ListValue l && b is IntValue or BoolValue)
                {
                    long n = Math.Max(0, AsLong(b));
                    if (n == 0 || l.Count == 0) return new ListValue([], l.IsTuple);
                    budget.Allocate(SaturatingProduct(n, l.Count));
                    var items = new Value[n * l.Count];
                    for (int i = 0; i < n; i++) l.Items.CopyTo(items, i * l.Count);
                    return new ListValue(items, l.IsTuple);
                }
                break;
            case "%":
                if (a is StringValue fmt) return budget.NewString(PyFormatting.Percent(fmt.Value, b, budget));
                break;
        }
        throw Unsupported(op, a, b);
    }

    private static long SaturatingProduct(long n, int size) => n > long.MaxValue / size ? long.MaxValue : n * size;

    private static Value Arithmetic(string op, Value a, Value b)
    {
        if (!IsFloat(a) && !IsFloat(b) && op != "/")
        {
            long x = AsLong(a), y = AsLong(b);
            try
            {
                switch (op)
                {
                    case "+": return IntValue.Of(checked(x + y));
                    case "-": return IntValue.Of(checked(x - y));
                    case "*": return IntValue.Of(checked(x * y));
                    case "//":
                        if (y == 0) throw new JinjaException("integer division or modulo by zero");
                        return IntValue.Of(FloorDiv(x, y));
                    case "%":
                        if (y == 0) throw new JinjaException("integer division or modulo by zero");
                        return IntValue.Of(checked(x - FloorDiv(x, y) * y));
                    case "**":
                        if (y >= 0) return IntValue.Of(Pow(x, y));
                        if (x == 0) throw new JinjaException("0.0 cannot be raised to a negative power");
                        return new FloatValue(Math.Pow(x, y));
                }
            }
            catch (OverflowException) { throw Overflow(); }
        }
        double p = AsDouble(a), q = AsDouble(b);
        switch (op)
        {
            case "+": return new FloatValue(p + q);
            case "-": return new FloatValue(p - q);
            case "*": return new FloatValue(p * q);
            case "/":
                if (q == 0) throw new JinjaException("division by zero");
                return new FloatValue(p / q);
            case "//":
                if (q == 0) throw new JinjaException("float floor division by zero");
                return new FloatValue(Math.Floor(p / q));
            case "%":
            {
                if (q == 0) throw new JinjaException("float modulo");
                double r = p % q;
                if (r != 0 && r < 0 != q < 0) r += q;
                return new FloatValue(r);
            }
            case "**":
                if (p == 0 && q < 0) throw new JinjaException("0.0 cannot be raised to a negative power");
                if (p < 0 && q != Math.Floor(q)) throw new JinjaException("a negative number raised to a fractional power is complex");
                return new FloatValue(Math.Pow(p, q));
        }
        throw new JinjaException($"unknown operator {op}");
    }

    private static long FloorDiv(long x, long y)
    {
        if (x == long.MinValue && y == -1) throw new OverflowException();
        long q = x / y;
        if (x % y != 0 && (x < 0) != (y < 0)) q--;
        return q;
    }

    private static long Pow(long x, long y)
    {
        long result = 1;
        while (y > 0)
        {
            if ((y & 1) != 0) result = checked(result * x);
            y >>= 1;
            if (y > 0) x = checked(x * x);
        }
        return result;
    }

    public static Value Negate(Value v, bool minus)
    {
        if (v is UndefinedValue) throw Undefined(v);
        if (v is FloatValue f) return new FloatValue(minus ? -f.Value : f.Value);
        if (v is IntValue or BoolValue)
        {
            long x = AsLong(v);
            if (!minus) return IntValue.Of(x);
            if (x == long.MinValue) throw Overflow();
            return IntValue.Of(-x);
        }
        throw new JinjaException($"bad operand type for unary {(minus ? "-" : "+")}: '{v.TypeName}'");
    }
}
