namespace FrSpec.Text.Jinja;

/// <summary>
/// Resource limits of one template render, so that no template (or input) can hang the process or exhaust memory.
/// Each limit reached is a <see cref="FrSpecException"/> that names it.
/// </summary>
public sealed record JinjaLimits
{
    /// <summary>Longest template source accepted, in characters.</summary>
    public int MaxTemplateChars { get; init; } = 1 << 20;

    /// <summary>Longest string a render may build, the rendered prompt included, in UTF-16 characters (also the
    /// longest list, in items).</summary>
    public int MaxOutputChars { get; init; } = 8 << 20;

    /// <summary>Total characters and list items a render may allocate over its run (bounds repeated concatenation).</summary>
    public long MaxWorkChars { get; init; } = 128L << 20;

    /// <summary>Expressions evaluated, statements run and loop iterations, over the whole render.</summary>
    public long MaxSteps { get; init; } = 10_000_000;

    /// <summary>Deepest nesting of syntax, of macro calls and of values (lists in lists, dicts in dicts).</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>The defaults: room for prompts of a couple of million tokens.</summary>
    public static JinjaLimits Default { get; } = new();
}
