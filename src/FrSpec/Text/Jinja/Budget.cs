using System.Runtime.CompilerServices;

namespace FrSpec.Text.Jinja;

/// <summary>Counts what one render spends against its <see cref="JinjaLimits"/>.</summary>
internal sealed class Budget(JinjaLimits limits)
{
    private long _steps, _work;

    public JinjaLimits Limits { get; } = limits;

    /// <summary>Macro and caller calls in progress.</summary>
    public int CallDepth { get; set; }

    public void Step()
    {
        if (++_steps > Limits.MaxSteps)
            throw new JinjaException($"the template ran more than {Limits.MaxSteps} steps (limit MaxSteps)");
    }

    /// <summary>Accounts for a string or list of <paramref name="size"/> characters or items about to be built.</summary>
    public void Allocate(long size)
    {
        if (size > Limits.MaxOutputChars)
            throw new JinjaException($"the template built a string or list of {size} characters or items, over the limit of {Limits.MaxOutputChars} (MaxOutputChars)");
        _work += size;
        if (_work > Limits.MaxWorkChars)
            throw new JinjaException($"the template built more than {Limits.MaxWorkChars} characters and list items in all (limit MaxWorkChars)");
    }

    public StringValue NewString(string s)
    {
        Allocate(s.Length);
        return StringValue.Of(s);
    }

    public ListValue NewList(Value[] items, bool tuple = false)
    {
        Allocate(items.Length);
        return new ListValue(items, tuple);
    }

    /// <summary>Checks the nesting of values being walked (printing, JSON, comparing) or of calls.</summary>
    public void CheckDepth(int depth, string what)
    {
        if (depth > Limits.MaxDepth) throw new JinjaException($"{what} nested deeper than {Limits.MaxDepth} levels (limit MaxDepth)");
        RuntimeHelpers.EnsureSufficientExecutionStack();
    }
}
