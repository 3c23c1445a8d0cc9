namespace FrSpec.Text.Jinja;

/// <summary>The `loop` variable of a for loop: index, index0, revindex(0), first, last, length, previtem, nextitem,
/// depth(0), cycle(...) and changed(...), as Jinja's LoopContext.</summary>
internal sealed class LoopValue(Value[] items, int depth0) : Value
{
    private Value[]? _lastChanged;

    public int Index0 { get; set; }
    public override string TypeName => "LoopContext";

    public Value GetAttribute(string name) => name switch
    {
        "index" => IntValue.Of(Index0 + 1),
        "index0" => IntValue.Of(Index0),
        "revindex" => IntValue.Of(items.Length - Index0),
        "revindex0" => IntValue.Of(items.Length - Index0 - 1),
        "first" => BoolValue.Of(Index0 == 0),
        "last" => BoolValue.Of(Index0 == items.Length - 1),
        "length" => IntValue.Of(items.Length),
        "depth" => IntValue.Of(depth0 + 1),
        "depth0" => IntValue.Of(depth0),
        "previtem" => Index0 > 0 ? items[Index0 - 1] : new UndefinedValue("there is no previous item"),
        "nextitem" => Index0 < items.Length - 1 ? items[Index0 + 1] : new UndefinedValue("there is no next item"),
        "cycle" => new CallableValue("loop.cycle", (_, args) =>
        {
            args.NoKeywords("loop.cycle");
            if (args.Positional.Length == 0) throw new JinjaException("no items for cycling given");
            return args.Positional[Index0 % args.Positional.Length];
        }),
        "changed" => new CallableValue("loop.changed", (interp, args) =>
        {
            args.NoKeywords("loop.changed");
            var now = args.Positional;
            bool changed = _lastChanged is null || !Operators.SequenceEquals(_lastChanged, now, interp);
            _lastChanged = now;
            return BoolValue.Of(changed);
        }),
        _ => new UndefinedValue($"'LoopContext' object has no attribute '{name}'"),
    };
}
