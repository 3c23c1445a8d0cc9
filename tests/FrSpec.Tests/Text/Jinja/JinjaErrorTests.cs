using FrSpec.Text.Jinja;

namespace FrSpec.Tests.Text.Jinja;

/// <summary>Malformed templates and runtime errors: a one-line FrSpecException naming the template, the kind of
/// error and the line and column; the messages follow Python's where there is one.</summary>
public class JinjaErrorTests
{
    private static string Error(string template)
    {
        var e = Assert.Throws<FrSpecException>(() => JinjaHarness.Render(template));
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    [Theory]
    [InlineData("{% for m in messages %}{{ m }}", "test.jinja: syntax error at line 1, column 31: unexpected end of template, expected 'endfor' or 'else'")]
    [InlineData("{{ 'abc' }", "test.jinja: syntax error at line 1, column 10: unexpected '}'")]
    [InlineData("hello\n{% if x %}\n  {{ x + }}\n{% endif %}", "test.jinja: syntax error at line 3, column 10: unexpected end of print statement")]
    [InlineData("{% endfor %}", "test.jinja: syntax error at line 1, column 4: unknown tag 'endfor'")]
    [InlineData("{% frobnicate %}", "test.jinja: syntax error at line 1, column 4: unknown tag 'frobnicate'")]
    [InlineData("{% include 'x.jinja' %}", "test.jinja: syntax error at line 1, column 4: 'include' is not supported: a chat template is rendered alone and cannot load or extend other templates")]
    [InlineData("{% extends 'x' %}", "test.jinja: syntax error at line 1, column 4: 'extends' is not supported: a chat template is rendered alone and cannot load or extend other templates")]
    [InlineData("{{ 'unterminated }}", "test.jinja: syntax error at line 1, column 4: unterminated string literal")]
    [InlineData("a\n{# never closed", "test.jinja: syntax error at line 2, column 1: missing end of comment tag")]
    [InlineData("{% raw %}never ends", "test.jinja: syntax error at line 1, column 10: missing end of raw directive")]
    [InlineData("{{ a ]}}", "test.jinja: syntax error at line 1, column 6: unexpected ']'")]
    [InlineData("{{ (a }}", "test.jinja: syntax error at line 1, column 7: unexpected '}', expected ')'")]
    [InlineData("{{ x ! y }}", "test.jinja: syntax error at line 1, column 6: unexpected char '!'")]
    [InlineData("{% break %}", "test.jinja: syntax error at line 1, column 4: 'break' outside of a loop")]
    [InlineData("{% set 1 = 2 %}", "test.jinja: syntax error at line 1, column 8: can't assign to a literal")]
    [InlineData("{{ f(a=1, 2) }}", "test.jinja: syntax error at line 1, column 5: invalid syntax for function call expression")]
    [InlineData("{% macro m(a=1, b) %}{% endmacro %}", "test.jinja: syntax error at line 1, column 17: non-default argument follows default argument")]
    [InlineData("{{ '\\x4' }}", "test.jinja: syntax error at line 1, column 5: truncated \\x escape in string literal")]
    [InlineData("{{ 99999999999999999999 }}", "test.jinja: syntax error at line 1, column 4: integer literal 99999999999999999999 does not fit in 64 bits")]
    [InlineData("{% for x in y recursive %}{% endfor %}", "test.jinja: syntax error at line 1, column 4: recursive for loops are not supported")]
    [InlineData("{{ x is defined is defined }}", "test.jinja: syntax error at line 1, column 17: you cannot chain multiple tests with is")]
    public void SyntaxErrorsAreOneLineWithPosition(string template, string message) => Assert.Equal(message, Error(template));

    [Theory]
    [InlineData("{{ [1].append(2) }}", "test.jinja: error at line 1, column 14: access to attribute 'append' of 'list' object is unsafe (templates cannot change their inputs)")]
    [InlineData("{{ {'a': 1}.update({'b': 2}) }}", "test.jinja: error at line 1, column 19: access to attribute 'update' of 'dict' object is unsafe (templates cannot change their inputs)")]
    [InlineData("{{ 'a' + 1 }}", "test.jinja: error at line 1, column 8: can only concatenate str (not \"int\") to str")]
    [InlineData("{{ 'a' ~ 1 + 2 }}", "test.jinja: error at line 1, column 12: can only concatenate str (not \"int\") to str")]
    [InlineData("{{ 1 / 0 }}", "test.jinja: error at line 1, column 6: division by zero")]
    [InlineData("{{ 1 // 0 }}", "test.jinja: error at line 1, column 6: integer division or modulo by zero")]
    [InlineData("\n\n  {{ x.y() }}", "test.jinja: error at line 3, column 9: 'x' is undefined")]
    [InlineData("{{ 1 < 'a' }}", "test.jinja: error at line 1, column 6: '<' not supported between instances of 'int' and 'str'")]
    [InlineData("{{ 5 | nosuchfilter }}", "test.jinja: error at line 1, column 8: no filter named 'nosuchfilter'")]
    [InlineData("{{ 5 is nosuchtest }}", "test.jinja: error at line 1, column 6: no test named 'nosuchtest'")]
    [InlineData("{% for a, b in [1, 2] %}{% endfor %}", "test.jinja: error at line 1, column 8: cannot unpack non-iterable int object")]
    [InlineData("{% for a, b in [[1, 2, 3]] %}{% endfor %}", "test.jinja: error at line 1, column 8: too many values to unpack (expected 2)")]
    [InlineData("{% set x = 1 %}{% set x.y = 2 %}", "test.jinja: error at line 1, column 23: cannot assign attribute on non-namespace object")]
    [InlineData("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", "test.jinja: error at line 1, column 35: macro 'm' takes not more than 1 argument(s)")]
    [InlineData("{% macro m(a) %}{% endmacro %}{{ m(b=2) }}", "test.jinja: error at line 1, column 35: macro 'm' takes no keyword argument 'b'")]
    [InlineData("{% macro m() %}{% endmacro %}{% call m() %}x{% endcall %}", "test.jinja: error at line 1, column 39: macro 'm' takes no keyword argument 'caller'")]
    [InlineData("{{ 9223372036854775807 + 1 }}", "test.jinja: error at line 1, column 24: integer overflow (template integers are 64-bit)")]
    [InlineData("{{ none + 1 }}", "test.jinja: error at line 1, column 9: unsupported operand type(s) for +: 'NoneType' and 'int'")]
    [InlineData("{{ 1 in none }}", "test.jinja: error at line 1, column 6: argument of type 'NoneType' is not iterable")]
    [InlineData("{{ 'x'.split('') }}", "test.jinja: error at line 1, column 13: empty separator")]
    [InlineData("{{ [1, 2][::0] }}", "test.jinja: error at line 1, column 10: slice step cannot be zero")]
    [InlineData("{{ range|tojson }}", "test.jinja: error at line 1, column 10: Object of type function is not JSON serializable")]
    [InlineData("{{ raise_exception('Conversation roles must alternate') }}", "test.jinja: raise_exception at line 1, column 19: Conversation roles must alternate")]
    public void RuntimeErrorsAreOneLineWithPosition(string template, string message) => Assert.Equal(message, Error(template));

    [Fact]
    public void TemplatesSeeOnlyTheValueModel()
    {
        // No reflection or .NET members: anything that is not a template value attribute is undefined.
        Assert.Equal("||True", JinjaHarness.Render("{{ 'x'.__class__ }}|{{ range.__globals__ }}|{{ 'x'.GetType is undefined }}"));
        Assert.Equal("True", JinjaHarness.Render("{{ messages.Length is undefined }}", "{\"messages\": [1]}"));
        // Only plain data crosses into a template.
        var e = Assert.Throws<FrSpecException>(() => ValueConverter.From(new FileInfo("/etc/passwd"), "file", 64));
        Assert.Contains("template variable file: values of type FileInfo cannot be passed", e.Message);
        var cyclic = new List<object?>();
        cyclic.Add(cyclic);
        Assert.Contains("nested deeper than 64 levels", Assert.Throws<FrSpecException>(() => ValueConverter.From(cyclic, "loop", 64)).Message);
        Assert.Contains("keys must be strings", Assert.Throws<FrSpecException>(() => ValueConverter.From(new System.Collections.Hashtable { [1] = 2 }, "h", 64)).Message);
    }
}
