using FrSpec.Text.Jinja;

namespace FrSpec.Tests.Text.Jinja;

/// <summary>Every resource limit stops a template that would otherwise hang, exhaust memory or overflow the stack,
/// with an error naming the limit; the same templates run under limits large enough.</summary>
public class JinjaLimitTests
{
    private static string Error(string template, JinjaLimits? limits = null, string context = "{}")
        => Assert.Throws<FrSpecException>(() => JinjaHarness.Render(template, context, limits)).Message;

    [Fact]
    public void TemplateSize()
    {
        var limits = new JinjaLimits { MaxTemplateChars = 100 };
        Assert.Equal(new string('x', 100), JinjaHarness.Render(new string('x', 100), limits: limits));
        Assert.Contains("has 101 characters, over the limit of 100 (MaxTemplateChars)", Error(new string('x', 101), limits));
    }

    [Fact]
    public void OutputAndStringSize()
    {
        var limits = new JinjaLimits { MaxOutputChars = 1000 };
        Assert.Equal(1000, JinjaHarness.Render("{{ 'x' * 1000 }}", limits: limits).Length);
        Assert.Contains("MaxOutputChars", Error("{{ 'x' * 1001 }}", limits));
        // A huge repetition is refused before anything is allocated.
        Assert.Contains("MaxOutputChars", Error("{{ 'abc' * 9223372036854775807 }}"));
        Assert.Contains("MaxOutputChars", Error("{{ [1, 2] * 9223372036854775807 }}"));
        // Output that grows piece by piece.
        Assert.Contains("MaxOutputChars", Error("{% for i in range(2000) %}x{% endfor %}", limits));
        Assert.Contains("MaxOutputChars", Error("{{ range(2000)|join(',') }}", limits));
        Assert.Contains("MaxOutputChars", Error("{{ range(600)|list|tojson(indent=4) }}", limits));
    }

    [Fact]
    public void TotalWork()
    {
        // Quadratic concatenation: each string is small enough, their total is not.
        const string quadratic = "{% set ns = namespace(s='') %}{% for i in range(5000) %}{% set ns.s = ns.s ~ 'xxxxxxxxxx' %}{% endfor %}{{ ns.s|length }}";
        Assert.Equal("50000", JinjaHarness.Render(quadratic));
        Assert.Contains("MaxWorkChars", Error(quadratic, new JinjaLimits { MaxWorkChars = 10_000_000 }));
    }

    [Fact]
    public void Steps()
    {
        var limits = new JinjaLimits { MaxSteps = 100_000 };
        Assert.Contains("more than 100000 steps (limit MaxSteps)",
            Error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", limits));
        // The default limit ends the same nested loop too (10^10 iterations would run for hours).
        Assert.Contains("MaxSteps", Error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"));
        Assert.Equal("1000", JinjaHarness.Render("{% set ns = namespace(n=0) %}{% for i in range(1000) %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}", limits: limits));
    }

    [Fact]
    public void Depth()
    {
        // Unbounded macro recursion.
        Assert.Contains("macro calls nested deeper than 64 levels (limit MaxDepth)", Error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"));
        Assert.Equal("20", JinjaHarness.Render("{% macro f(n) %}{% if n < 20 %}{{ f(n + 1) }}{% else %}{{ n }}{% endif %}{% endmacro %}{{ f(0) }}"));
        // Deeply nested syntax is a syntax error, not a stack overflow.
        Assert.Contains("nesting is deeper than 64 levels", Error("{{ " + new string('(', 5000) + "1" + new string(')', 5000) + " }}"));
        Assert.Contains("nesting is deeper than 64 levels", Error("{{ " + string.Concat(Enumerable.Repeat("not ", 5000)) + "x }}"));
        Assert.Contains("nesting is deeper than 64 levels", Error(string.Concat(Enumerable.Repeat("{% if true %}", 5000)) + string.Concat(Enumerable.Repeat("{% endif %}", 5000))));
        // Long chains parse without nesting but evaluate recursively: an error, not a stack overflow.
        Assert.Equal("150", JinjaHarness.Render("{{ 0" + string.Concat(Enumerable.Repeat(" + 1", 150)) + " }}"));
        Assert.Contains("nests too deeply", Error("{{ x" + string.Concat(Enumerable.Repeat("|first", 150_000)) + " }}"));
        Assert.Contains("nests too deeply", Error("{{ 0" + string.Concat(Enumerable.Repeat("+1", 300_000)) + " }}"));
        Assert.Contains("nests too deeply", Error("{% macro m() %}{{ 0" + string.Concat(Enumerable.Repeat("+1", 300_000)) + " }}{% endmacro %}{{ m() }}"));
        // Values nested by the template itself (printing, JSON and comparison walk them).
        const string nest = "{% set ns = namespace(v=[]) %}{% for i in range(200) %}{% set ns.v = [ns.v] %}{% endfor %}";
        Assert.Contains("values nested deeper than 64 levels", Error(nest + "{{ ns.v }}"));
        Assert.Contains("values nested deeper than 64 levels", Error(nest + "{{ ns.v|tojson }}"));
        Assert.Contains("values nested deeper than 64 levels", Error(nest + "{{ ns.v == ns.v[0] }}"));
    }

    [Fact]
    public void SandboxRangeLimit()
    {
        Assert.Equal("100000", JinjaHarness.Render("{{ range(100000)|length }}"));
        Assert.Contains("Range too big", Error("{{ range(100001) }}"));
    }
}
