namespace FrSpec.Text.Jinja;

/// <summary>
/// A template value. The value model is closed: templates see only these kinds (Python's None, bool, int, float,
/// str, list/tuple, dict, Jinja's Undefined and namespace, and callables the interpreter defines), never .NET objects.
/// Values are immutable except a namespace's attributes, as in transformers' ImmutableSandboxedEnvironment.
/// </summary>
internal abstract class Value
{
    /// <summary>Python's type name, for error messages ("str", "int", "list", "dict", "NoneType", ...).</summary>
    public abstract string TypeName { get; }
}

/// <summary>Jinja's Undefined: a missing variable, attribute or item. Prints as "", iterates as empty, is false.</summary>
internal sealed class UndefinedValue(string? hint = null) : Value
{
    public static readonly UndefinedValue Instance = new();

    /// <summary>What was missing ("'x' is undefined"), used when an operation needs a real value.</summary>
    public string Hint { get; } = hint ?? "value is undefined";

    public override string TypeName => "Undefined";
}

internal sealed class NoneValue : Value
{
    public static readonly NoneValue Instance = new();
    private NoneValue() { }
    public override string TypeName => "NoneType";
}

internal sealed class BoolValue : Value
{
    public static readonly BoolValue True = new(true), False = new(false);
    public bool Value { get; }
    private BoolValue(bool v) => Value = v;
    public static BoolValue Of(bool v) => v ? True : False;
    public override string TypeName => "bool";
}

/// <summary>Python int, limited to 64 bits: overflow is an error rather than a big integer.</summary>
internal sealed class IntValue(long value) : Value
{
    private static readonly IntValue[] Small = Enumerable.Range(-8, 264).Select(i => new IntValue(i)).ToArray();
    public long Value { get; } = value;
    public static IntValue Of(long v) => v is >= -8 and < 256 ? Small[v + 8] : new IntValue(v);
    public override string TypeName => "int";
}

internal sealed class FloatValue(double value) : Value
{
    public double Value { get; } = value;
    public override string TypeName => "float";
}

internal sealed class StringValue(string value) : Value
{
    public static readonly StringValue Empty = new("");
    public string Value { get; } = value;
    public static StringValue Of(string s) => s.Length == 0 ? Empty : new StringValue(s);
    public override string TypeName => "str";
}

/// <summary>A Python list or tuple (they differ in repr, equality and concatenation).</summary>
internal sealed class ListValue(Value[] items, bool isTuple = false) : Value
{
    public static readonly ListValue EmptyList = new([]);
    public Value[] Items { get; } = items;
    public bool IsTuple { get; } = isTuple;
    public int Count => Items.Length;
    public override string TypeName => IsTuple ? "tuple" : "list";
}

/// <summary>A Python dict with string keys, in insertion order.</summary>
internal sealed class DictValue(OrderedDictionary<string, Value> entries) : Value
{
    public static readonly DictValue Empty = new(new OrderedDictionary<string, Value>());
    public OrderedDictionary<string, Value> Entries { get; } = entries;
    public override string TypeName => "dict";
}

/// <summary>Jinja's namespace(): the one mutable value, whose attributes `{% set ns.x = ... %}` assigns.</summary>
internal sealed class NamespaceValue(OrderedDictionary<string, Value> attributes) : Value
{
    public OrderedDictionary<string, Value> Attributes { get; } = attributes;
    public override string TypeName => "Namespace";
}

/// <summary>A function the template can call: a global, a bound method, a macro, or a call block's caller.</summary>
internal sealed class CallableValue(string name, Func<Interpreter, Arguments, Value> invoke) : Value
{
    public string Name { get; } = name;
    public Func<Interpreter, Arguments, Value> Invoke { get; } = invoke;
    public override string TypeName => "function";
}
