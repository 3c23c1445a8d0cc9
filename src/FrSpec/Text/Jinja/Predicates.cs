namespace FrSpec.Text.Jinja;

/// <summary>The tests of `x is name(args)`: Jinja2's built-in tests with Python's type rules (a bool is a number
/// but not an integer; Undefined is iterable and a sequence, as Jinja's Undefined is).</summary>
internal static class Predicates
{
    private delegate bool Test(Interpreter interp, Value v, Value?[] args);

    private static readonly Dictionary<string, (string[] Params, Test Run)> All = new()
    {
        ["defined"] = ([], (_, v, _) => v is not UndefinedValue),
        ["undefined"] = ([], (_, v, _) => v is UndefinedValue),
        ["none"] = ([], (_, v, _) => v is NoneValue),
        ["boolean"] = ([], (_, v, _) => v is BoolValue),
        ["true"] = ([], (_, v, _) => v is BoolValue { Value: true }),
        ["false"] = ([], (_, v, _) => v is BoolValue { Value: false }),
        ["integer"] = ([], (_, v, _) => v is IntValue),
        ["float"] = ([], (_, v, _) => v is FloatValue),
        ["number"] = ([], (_, v, _) => v is IntValue or FloatValue or BoolValue),
        ["string"] = ([], (_, v, _) => v is StringValue),
        ["mapping"] = ([], (_, v, _) => v is DictValue),
        ["iterable"] = ([], (_, v, _) => v is StringValue or ListValue or DictValue or UndefinedValue or LoopValue),
        ["sequence"] = ([], (_, v, _) => v is StringValue or ListValue or DictValue or UndefinedValue),
        ["callable"] = ([], (_, v, _) => v is CallableValue),
        ["escaped"] = ([], (_, _, _) => false),
        ["lower"] = ([], (i, v, _) => PyStrings.IsCase(PyRepr.Str(v, i.Budget), upper: false)),
        ["upper"] = ([], (i, v, _) => PyStrings.IsCase(PyRepr.Str(v, i.Budget), upper: true)),
        ["odd"] = ([], (i, v, _) => Operators.Equal(Operators.Binary("%", v, IntValue.Of(2), i.Budget), IntValue.Of(1), i.Budget)),
        ["even"] = ([], (i, v, _) => Operators.Equal(Operators.Binary("%", v, IntValue.Of(2), i.Budget), IntValue.Of(0), i.Budget)),
        ["divisibleby"] = (["num"], (i, v, a) => Operators.Equal(Operators.Binary("%", v, a[0]!, i.Budget), IntValue.Of(0), i.Budget)),
        ["eq"] = (["other"], (i, v, a) => Operators.Equal(v, a[0]!, i.Budget)),
        ["ne"] = (["other"], (i, v, a) => !Operators.Equal(v, a[0]!, i.Budget)),
        ["lt"] = (["other"], (i, v, a) => Operators.Order("<", v, a[0]!, i.Budget)),
        ["le"] = (["other"], (i, v, a) => Operators.Order("<=", v, a[0]!, i.Budget)),
        ["gt"] = (["other"], (i, v, a) => Operators.Order(">", v, a[0]!, i.Budget)),
        ["ge"] = (["other"], (i, v, a) => Operators.Order(">=", v, a[0]!, i.Budget)),
        ["in"] = (["seq"], (i, v, a) => Operators.Contains(a[0]!, v, i.Budget)),
        ["sameas"] = (["other"], (_, v, a) => ReferenceEquals(v, a[0]) || v is NoneValue && a[0] is NoneValue),
        ["filter"] = ([], (_, v, _) => v is StringValue s && Filters.Exists(s.Value)),
        ["test"] = ([], (_, v, _) => v is StringValue s && Exists(s.Value)),
    };

    private static readonly Dictionary<string, string> Aliases = new()
    {
        ["equalto"] = "eq", ["=="] = "eq", ["!="] = "ne", ["lessthan"] = "lt", ["<"] = "lt", ["<="] = "le",
        ["greaterthan"] = "gt", [">"] = "gt", [">="] = "ge",
    };

    public static bool Exists(string name) => All.ContainsKey(Aliases.GetValueOrDefault(name, name));

    public static bool Apply(Interpreter interp, string name, Value operand, Arguments args)
    {
        if (!All.TryGetValue(Aliases.GetValueOrDefault(name, name), out var test)) throw new JinjaException($"no test named '{name}'");
        return test.Run(interp, operand, args.Bind(name, test.Params, test.Params.Length));
    }
}
