namespace FrSpec.Text.Jinja;

/// <summary>The evaluated arguments of a call, filter or test: positional values and keyword values in order.</summary>
internal sealed class Arguments(Value[] positional, KeyValuePair<string, Value>[] keywords)
{
    public static readonly Arguments Empty = new([], []);

    public Value[] Positional { get; } = positional;
    public KeyValuePair<string, Value>[] Keywords { get; } = keywords;

    public static Arguments Of(params Value[] positional) => new(positional, []);

    /// <summary>The same arguments with <paramref name="first"/> put in front (a filter's or test's operand).</summary>
    public Arguments Prepend(Value first)
    {
        var p = new Value[Positional.Length + 1];
        p[0] = first;
        Positional.CopyTo(p, 1);
        return new Arguments(p, Keywords);
    }

    /// <summary>
    /// Binds the arguments to parameter names the way Python does: positional first, then by keyword. Returns one slot
    /// per name, null where the caller gave nothing. The first <paramref name="required"/> parameters must be given.
    /// </summary>
    public Value?[] Bind(string function, ReadOnlySpan<string> names, int required = 0)
    {
        if (Positional.Length > names.Length)
            throw new JinjaException($"{function}() takes at most {names.Length} argument{(names.Length == 1 ? "" : "s")} ({Positional.Length} given)");
        var slots = new Value?[names.Length];
        Positional.CopyTo(slots, 0);
        foreach (var (key, value) in Keywords)
        {
            int i = names.IndexOf(key);
            if (i < 0) throw new JinjaException($"{function}() got an unexpected keyword argument '{key}'");
            if (slots[i] is not null) throw new JinjaException($"{function}() got multiple values for argument '{key}'");
            slots[i] = value;
        }
        for (int i = 0; i < required; i++)
            if (slots[i] is null) throw new JinjaException($"{function}() missing required argument '{names[i]}'");
        return slots;
    }

    public void NoKeywords(string function)
    {
        if (Keywords.Length > 0) throw new JinjaException($"{function}() takes no keyword arguments");
    }
}
