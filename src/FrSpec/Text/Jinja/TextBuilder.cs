using System.Text;

namespace FrSpec.Text.Jinja;

/// <summary>A StringBuilder that stops at the render's string limit instead of growing without bound.</summary>
internal sealed class TextBuilder(Budget budget)
{
    private readonly StringBuilder _sb = new();

    public Budget Budget { get; } = budget;
    public int Length => _sb.Length;

    public TextBuilder Append(string s)
    {
        Check(s.Length);
        _sb.Append(s);
        return this;
    }

    public TextBuilder Append(char c)
    {
        Check(1);
        _sb.Append(c);
        return this;
    }

    public TextBuilder Append(string s, int start, int count)
    {
        Check(count);
        _sb.Append(s, start, count);
        return this;
    }

    private void Check(int more)
    {
        if ((long)_sb.Length + more > Budget.Limits.MaxOutputChars)
            throw new JinjaException($"the template built a string of more than {Budget.Limits.MaxOutputChars} characters (limit MaxOutputChars)");
    }

    /// <summary>The text, accounted against the render's total work.</summary>
    public string Build()
    {
        Budget.Allocate(_sb.Length);
        return _sb.ToString();
    }
}
