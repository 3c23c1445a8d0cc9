using System.Text.Json;
using FrSpec.Text.Jinja;

namespace FrSpec.Tests.Text.Jinja;

/// <summary>Renders a template with a JSON context the way the engine's callers do (values from JSON, fixed clock).</summary>
internal static class JinjaHarness
{
    public static readonly DateTime Clock = new(2024, 7, 26, 10, 30, 5);

    public static string Render(string template, string contextJson = "{}", JinjaLimits? limits = null)
    {
        var t = JinjaTemplate.Parse(template, "test.jinja", limits);
        using var doc = JsonDocument.Parse(contextJson);
        var vars = new Dictionary<string, Value>();
        foreach (var p in doc.RootElement.EnumerateObject()) vars[p.Name] = ValueConverter.FromJson(p.Value, p.Name, 0, 64);
        return t.Render(vars, () => Clock);
    }
}

/// <summary>
/// One case per construct family (whitespace control, literals, operators and precedence, indexing and slicing,
/// printing, scoping, loops, macros and call blocks, every filter, test and string method, globals, Undefined). Each
/// expected string is what transformers renders: Python's Jinja2 3.1.6 in an ImmutableSandboxedEnvironment with
/// trim_blocks, lstrip_blocks, loop controls and transformers' tojson, raise_exception and strftime_now (clock fixed
/// at 2024-07-26 10:30:05).
/// </summary>
public class JinjaSemanticsTests
{
    public static TheoryData<string, string, string> Cases => new()
    {
        // (template, context) unit cases; expected = Python Jinja2 as transformers configures it
        // whitespace control and lexing
        { "  {% if true %}\n    yes\n  {% endif %}\n  {{ 'x' }}\n", "{}", "    yes\n  x" },
        { "a  {%- if true %} b {% endif -%}  \n c", "{}", "a b c" },
        { "a\n{# comment #}\nb\n  {#- c -#}  \nd", "{}", "a\nbd" },
        { "{%+ if true %}kept{% endif +%}\nnext", "{}", "kept\nnext" },
        { "{{- ' a ' -}}  \n {{ 'b' }}", "{}", " a b" },
        { "x{% raw %} {{ y }} {% if %}{% endraw %}z", "{}", "x {{ y }} {% if %}z" },
        { "line1\r\nline2\rline3\n", "{}", "line1\nline2\nline3" },
        { "{% for i in [1,2] %}\n  {{ i }}\n{% endfor %}\n", "{}", "  1\n  2\n" },
        { "{{ 'it''s' }}{{ \"a\" 'b' }}{{ '\\n\\t\\x41\\u00e9\\101\\q' }}", "{}", "itsab\n\tAéA\\q" },
        { "{{ 1_000 }} {{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1.5e3 }} {{ 2E-3 }}", "{}", "1000 31 15 5 1500.0 0.002" },
        // operators and precedence
        { "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 10 - 2 - 3 }} {{ 'a' ~ 1 * 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7.5 // 2 }}", "{}", "7 9 64 4 5 a2 1 2 3.0" },
        { "{{ 1 / 2 }} {{ 4 / 2 }} {{ 2 ** -1 }} {{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1e15 }} {{ 1e-5 }} {{ 0.0001 }} {{ -0.0 }} {{ 3 * 1.0 }} {{ 1 / 3 }}", "{}", "0.5 2.0 0.5 0.30000000000000004 1e+16 1000000000000000.0 1e-05 0.0001 -0.0 3.0 0.3333333333333333" },
        { "{{ 'ab' * 3 }} {{ [0] * 3 }} {{ 2 * 'x' }} {{ 'a' + 'b' }} {{ [1] + [2] }} {{ (1,) + (2,) }} {{ true + 1 }}", "{}", "ababab [0, 0, 0] xx ab [1, 2] (1, 2) 2" },
        { "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 == 1.0 }} {{ 1 == true }} {{ [1] == [1] }} {{ [1] == (1,) }} {{ none == none }}", "{}", "True False True True True True True False True" },
        { "{{ 'a' in 'cat' }} {{ 'x' not in 'cat' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'v' in {'k': 'v'} }} {{ 1 in (1, 2) }}", "{}", "True True True True False True" },
        { "{{ not true or true }} {{ not (true or true) }} {{ true and false or true }} {{ [] or 'd' }} {{ 'x' and 'y' }} {{ 0 or none }}|{{ '' and 'y' }}|", "{}", "True False True d y None||" },
        { "{{ 'y' if x else 'n' }} {{ 'y' if not x else 'n' }} [{{ 'y' if x }}] {{ 'a' if false else 'b' if false else 'c' }}", "{\"x\": false}", "n y [] c" },
        { "{{ not x is defined }} {{ x is not none }} {{ -x|abs }} {{ x ~ 'b' | upper }}", "{\"x\": 3}", "False True 3 3B" },
        // indexing and slicing
        { "{{ s[0] }} {{ s[-1] }} {{ s[1:3] }} {{ s[::-1] }} {{ s[::2] }} {{ s[10] }}|{{ s[-10:] }} {{ s.0 }}", "{\"s\": \"hello\"}", "h o el olleh hlo |hello h" },
        { "{{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[4:1:-2] }} {{ l[-2:] }} {{ l[1:4:2] }} {{ l[5:] }} {{ l[0] }} {{ l.1 }}", "{\"l\": [1, 2, 3, 4, 5]}", "[2, 3, 4, 5] [1, 2, 3, 4] [5, 4, 3, 2, 1] [5, 3] [4, 5] [2, 4] [] 1 2" },
        { "{{ u|length }} {{ u[1] }} {{ u[::-1] }} {{ u|list }} {{ u[1:] }}", "{\"u\": \"\U0001f600ab\"}", "3 a ba\U0001f600 ['\U0001f600', 'a', 'b'] ab" },
        { "{{ d.a }} {{ d['a'] }} {{ d.get('a') }} {{ d.get('z', 'dflt') }} {{ d.get('z') }} {{ d.missing }}|{{ d['b'][0] }} {{ d.b[1].c }}", "{\"d\": {\"a\": 1, \"b\": [0, {\"c\": \"deep\"}]}}", "1 1 1 dflt None |0 deep" },
        { "{{ d.items is callable }}|{{ d['items'] }}|{{ d.keys()|list }}|{{ d.values()|list }}|{{ d.items()|list }}", "{\"d\": {\"items\": 5, \"k\": \"v\"}}", "True|5|['items', 'k']|[5, 'v']|[('items', 5), ('k', 'v')]" },
        // printing
        { "{{ none }}|{{ true }}|{{ false }}|{{ [1, 'a', none, true, 1.5] }}|{{ {'a': 1, 'b': [2]} }}|{{ (1,) }}|{{ () }}|{{ [] }}|{{ {} }}", "{}", "None|True|False|[1, 'a', None, True, 1.5]|{'a': 1, 'b': [2]}|(1,)|()|[]|{}" },
        { "{{ [\"it's\", 'q\"', 'both\\'\"', 'tab\\t', 'nl\\n', 'é', '\u0085', '\u200b', '\\\\'] }}", "{}", "[\"it's\", 'q\"', 'both\\'\"', 'tab\\t', 'nl\\n', 'é', '\\x85', '\\u200b', '\\\\']" },
        { "{{ x }} {{ y }} {{ z }} {{ w }}", "{\"x\": 1.0, \"y\": 1e+100, \"z\": 123456789.125, \"w\": 1.5e-07}", "1.0 1e+100 123456789.125 1.5e-07" },
        // set / namespace / scoping
        { "{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}", "{}", "2" },
        { "{% set x = 'o' %}{% for i in range(3) %}[{{ x }}]{% set x = i %}{% endfor %}{{ x }}", "{}", "[o][o][o]o" },
        { "{% for i in range(3) %}{% if i == 0 %}{% set y = 'a' %}{% endif %}[{{ y }}]{% endfor %}", "{}", "[a][][]" },
        { "{% set ns = namespace(n=0, items=[]) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% set ns.items = ns.items + [i] %}{% endfor %}{{ ns.n }} {{ ns.items }} {{ ns }}", "{}", "6 [0, 1, 2, 3] <Namespace {'n': 6, 'items': [0, 1, 2, 3]}>" },
        { "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}{{ ns['a'] }}", "{}", "121" },
        { "{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set c, d = 'xy' %}{{ c }}{{ d }} {% set t = 1, 2 %}{{ t }}", "{}", "12 xy (1, 2)" },
        { "{% set b %}block {{ 1 + 1 }}{% endset %}[{{ b }}] {% set c | trim | upper %}  padded  {% endset %}[{{ c }}]", "{}", "[block 2] [PADDED]" },
        { "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", "{}", "3[]" },
        // for loops
        { "{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }} {% endfor %}", "{\"l\": [\"a\", \"b\", \"c\"]}", "1032TrueFalse3 2121FalseFalse3 3210FalseTrue3 " },
        { "{% for x in l %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }} {{ loop.cycle('odd', 'even') }}{% if loop.changed(x) %}!{% endif %} {% endfor %}", "{\"l\": [1, 1, 2]}", "<1>1 odd! 1<1>2 even 1<2> odd! " },
        { "{% for x in l if x > 1 %}{{ loop.index }}:{{ x }}/{{ loop.length }} {% else %}none{% endfor %}", "{\"l\": [1, 2, 3]}", "1:2/2 2:3/2 " },
        { "{% for x in l if x > 5 %}{{ x }}{% else %}none{% endfor %}", "{\"l\": [1, 2, 3]}", "none" },
        { "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {% for k in d %}{{ k }}{% endfor %} {% for c in 'ab' %}{{ c }}.{% endfor %} {% for x in undefined_list %}x{% endfor %}", "{\"d\": {\"b\": 1, \"a\": 2}}", "b=1;a=2; ba a.b. " },
        { "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}", "{}", "0134" },
        { "{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }}|{% endfor %}", "{}", "11x 21y 1|12x 22y 2|" },
        { "{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ range(5, 0, -2)|list }} {{ range(0)|list }}", "{}", "[0, 1, 2] [1, 3, 5] [5, 3, 1] []" },
        // macros, call, filter blocks
        { "{% macro f(a, b=2, c='x') %}{{ a }}-{{ b }}-{{ c }}{% endmacro %}{{ f(1) }} {{ f(1, 3) }} {{ f(1, c='z') }} {{ f(a=5) }} {{ f() }}", "{}", "1-2-x 1-3-x 1-2-z 5-2-x -2-x" },
        { "{% macro g() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ g(1, 2, k=3) }} {{ g() }}", "{}", "(1, 2){'k': 3} (){}" },
        { "{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(4) }}", "{}", "4321" },
        { "{% macro w(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call w('b') %}inner {{ 1 + 1 }}{% endcall %}", "{}", "<b>inner 2</b>" },
        { "{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) each([1, 2]) %}[{{ x }}]{% endcall %}", "{}", "[1][2]" },
        { "{% set v = 'outer' %}{% macro m() %}{{ v }}{% endmacro %}{% set v = 'later' %}{{ m() }}", "{}", "later" },
        { "{% filter upper %}hello {{ 'x' }}{% endfilter %} {% filter replace('a', 'o') | trim %}  banana  {% endfilter %}", "{}", "HELLO X bonono" },
        { "{% generation %}gen {{ 1 }}{% endgeneration %}|{%- generation -%}  x  {%- endgeneration -%}|", "{}", "gen 1|x|" },
        // filters
        { "{{ '  x  '|trim }}|{{ 'xxaxx'|trim('x') }}|{{ 'aBc'|upper }}|{{ 'aBc'|lower }}|{{ 'hello wORLD'|title }}|{{ 'hello-world (x'|title }}|{{ 'aBC'|capitalize }}", "{}", "x|a|ABC|abc|Hello World|Hello-World (X|Abc" },
        { "{{ 'abc'|replace('b', 'B') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'abc'|replace('', '-') }} {{ 5|replace('5', 'five') }}", "{}", "aBc bba -a-b-c- five" },
        { "{{ l|length }} {{ l|count }} {{ 'héllo'|length }} {{ d|length }} {{ l|first }} {{ l|last }} {{ 'abc'|first }} {{ d|first }} {{ l|join }} {{ l|join(', ') }} {{ l|reverse|list }} {{ 'abc'|reverse }}", "{\"l\": [3, 1, 2], \"d\": {\"k\": 1, \"j\": 2}}", "3 3 5 2 3 2 a k 312 3, 1, 2 [2, 1, 3] cba" },
        { "{{ l|sort }} {{ l|sort(reverse=true) }} {{ w|sort }} {{ w|sort(case_sensitive=true) }} {{ w|unique|list }} {{ w|unique(case_sensitive=true)|list }} {{ l|max }} {{ l|min }} {{ w|max }} {{ l|sum }}", "{\"l\": [3, 1, 2], \"w\": [\"b\", \"A\", \"a\", \"B\"]}", "[1, 2, 3] [3, 2, 1] ['A', 'a', 'b', 'B'] ['A', 'B', 'a', 'b'] ['b', 'A'] ['b', 'A', 'a', 'B'] 3 1 b 6" },
        { "{{ m|sort(attribute='n')|map(attribute='id')|list }} {{ m|map(attribute='missing', default='-')|list }} {{ m|sum(attribute='n') }} {{ m|max(attribute='n') }} {{ m|map(attribute='n')|join('+') }} {{ m|join(',', attribute='id') }}", "{\"m\": [{\"id\": \"a\", \"n\": 2}, {\"id\": \"b\", \"n\": 1}]}", "['b', 'a'] ['-', '-'] 3 {'id': 'a', 'n': 2} 2+1 a,b" },
        { "{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} {{ msgs|rejectattr('role', 'eq', 'user')|list|length }} {{ msgs|selectattr('tool')|list|length }} {{ msgs|selectattr('tool', 'defined')|list|length }}", "{\"msgs\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", \"content\": \"u\", \"tool\": true}, {\"role\": \"user\", \"content\": \"u2\"}]}", "['u', 'u2'] 1 1 1" },
        { "{{ l|select('odd')|list }} {{ l|reject('odd')|list }} {{ l|select('>', 1)|list }} {{ l|select|list }} {{ w|map('upper')|list }} {{ w|map('replace', 'a', 'z')|list }}", "{\"l\": [0, 1, 2, 3], \"w\": [\"a\", \"ba\"]}", "[1, 3] [0, 2] [2, 3] [1, 2, 3] ['A', 'BA'] ['z', 'bz']" },
        { "{{ d|dictsort }} {{ d|dictsort(reverse=true) }} {{ d|dictsort(by='value') }} {{ d|items|list }} {{ d|list }}", "{\"d\": {\"b\": 1, \"a\": 3, \"C\": 2}}", "[('a', 3), ('b', 1), ('C', 2)] [('C', 2), ('b', 1), ('a', 3)] [('b', 1), ('C', 2), ('a', 3)] [('b', 1), ('a', 3), ('C', 2)] ['b', 'a', 'C']" },
        { "{{ x|default('d') }} {{ none|default('d') }} {{ ''|default('d') }} {{ ''|default('d', true) }} {{ 0|d('zero', boolean=true) }} {{ y|default('d') }}", "{\"y\": \"set\"}", "d None  d zero set" },
        { "{{ '42'|int }} {{ ' 42 '|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(-1) }} {{ 3.9|int }} {{ '0x1A'|int(base=16) }} {{ true|int }} {{ '1e3'|int }}", "{}", "42 42 4 0 -1 3 26 1 1000" },
        { "{{ '4.5'|float }} {{ 'x'|float }} {{ 3|float }} {{ ' 1e2 '|float }} {{ 'nan'|float }} {{ '-inf'|float }}", "{}", "4.5 0.0 3.0 100.0 nan -inf" },
        { "{{ -3|abs }} {{ -2.5|abs }} {{ 2.675|round(2) }} {{ 2.5|round }} {{ 3.5|round }} {{ 1234.5|round(-2) }} {{ 2.1|round(method='ceil') }} {{ 2.9|round(0, 'floor') }} {{ 15|round(-1) }} {{ 7|round }}", "{}", "3 2.5 2.67 2.0 4.0 1200.0 3.0 2.0 20 7" },
        { "{{ x|tojson }}|{{ x|tojson(indent=2) }}|{{ x|tojson(sort_keys=true) }}|{{ x|tojson(separators=(',', ':')) }}|{{ x|tojson(ensure_ascii=true) }}", "{\"x\": {\"b\": [1, 2.5, \"é\\n\\\"q\\\"\\\\\", null, true, {}, [], \"\U0001f600\"], \"a\": {\"c\": \"\\u0001\u007f\"}}}", "{\"b\": [1, 2.5, \"é\\n\\\"q\\\"\\\\\", null, true, {}, [], \"\U0001f600\"], \"a\": {\"c\": \"\\u0001\u007f\"}}|{\n  \"b\": [\n    1,\n    2.5,\n    \"é\\n\\\"q\\\"\\\\\",\n    null,\n    true,\n    {},\n    [],\n    \"\U0001f600\"\n  ],\n  \"a\": {\n    \"c\": \"\\u0001\u007f\"\n  }\n}|{\"a\": {\"c\": \"\\u0001\u007f\"}, \"b\": [1, 2.5, \"é\\n\\\"q\\\"\\\\\", null, true, {}, [], \"\U0001f600\"]}|{\"b\":[1,2.5,\"é\\n\\\"q\\\"\\\\\",null,true,{},[],\"\U0001f600\"],\"a\":{\"c\":\"\\u0001\u007f\"}}|{\"b\": [1, 2.5, \"\\u00e9\\n\\\"q\\\"\\\\\", null, true, {}, [], \"\\ud83d\\ude00\"], \"a\": {\"c\": \"\\u0001\\u007f\"}}" },
        { "{{ 'x'|tojson }} {{ 1.0|tojson }} {{ [1, (2, 3)]|tojson }} {{ none|tojson }} {{ true|tojson }} {{ x|tojson(indent='\\t') }}", "{\"x\": [1, {\"a\": []}]}", "\"x\" 1.0 [1, [2, 3]] null true [\n\t1,\n\t{\n\t\t\"a\": []\n\t}\n]" },
        { "{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(width='> ', blank=true) }}|{{ 'a\\n'|indent }}", "{}", "a\n    b\n\n    c|  a\n  b|a\n> \n> b|a\n" },
        { "{{ l|batch(2)|list }} {{ l|batch(2, 0)|list }} {{ 'ab'|center(6) }}|{{ 'abc'|center(6) }}|{{ 'a b  c'|wordcount }} {{ 'a long sentence here'|truncate(9) }} {{ 'short'|truncate(9) }} {{ 'a long sentence'|truncate(9, true, '..', 0) }}", "{\"l\": [1, 2, 3]}", "[[1, 2], [3]] [[1, 2], [3, 0]]   ab  | abc  |3 a... short a long .." },
        { "{{ '%s is %d' % ('Bob', 42) }} {{ '%05.2f|%-4s|%x' % (3.14159, 'ab', 255) }} {{ '%(a)s!' % {'a': 1} }} {{ '%s'|format(5) }} {{ '%s-%s'|format(1, 2) }} {{ '{} {}'.format('a', 'b') }} {{ '{1}{0}'.format('a', 'b') }} {{ '{n:>4}|{f:.2f}'.format(n=5, f=3.14159) }}", "{}", "Bob is 42 03.14|ab  |ff 1! 5 1-2 a b ba    5|3.14" },
        { "{{ 5|string }} {{ [1, 'a']|string }} {{ none|string }} {{ 'x'|safe }} {{ '<a href=\"x\">&'|e }} {{ 'x'|attr('upper')() }} {{ d|attr('a') }}|", "{\"d\": {\"a\": 1}}", "5 [1, 'a'] None x &lt;a href=&#34;x&#34;&gt;&amp; X |" },
        // tests
        { "{{ x is defined }}{{ y is defined }}{{ y is undefined }}{{ x is string }}{{ 1 is number }}{{ true is number }}{{ true is integer }}{{ 1.0 is float }}{{ 1 is integer }}{{ true is boolean }}{{ true is true }}{{ 1 is true }}{{ false is false }}", "{\"x\": \"v\"}", "TrueFalseTrueTrueTrueTrueFalseTrueTrueTrueTrueFalseTrue" },
        { "{{ [1] is iterable }}{{ 'a' is iterable }}{{ 1 is iterable }}{{ {} is mapping }}{{ [] is mapping }}{{ 'a' is sequence }}{{ {} is sequence }}{{ none is none }}{{ none is not none }}{{ y is iterable }}{{ y is sequence }}", "{}", "TrueTrueFalseTrueFalseTrueTrueTrueFalseTrueTrue" },
        { "{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(4) }}{{ x is eq 'v' }}{{ x is equalto 'v' }}{{ x is ne 'v' }}{{ 3 is gt 2 }}{{ 3 is lt 2 }}{{ 3 is ge 3 }}{{ 'a' is in 'cat' }}{{ 2 is in [1] }}", "{\"x\": \"v\"}", "TrueTrueTrueFalseTrueTrueFalseTrueFalseTrueTrueFalse" },
        { "{{ 'ABC' is upper }}{{ 'abc' is lower }}{{ '123' is lower }}{{ 'Ab' is upper }}{{ range is callable }}{{ 'x' is callable }}{{ none is sameas none }}{{ 'upper' is filter }}{{ 'nope' is filter }}{{ 'odd' is test }}", "{}", "TrueTrueFalseFalseTrueFalseTrueTrueFalseTrue" },
        // string methods
        { "{{ 'a,b,,c'.split(',') }} {{ '  a  b '.split() }} {{ 'a b c'.split(none, 1) }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ '  a b  '.rsplit(none, 1) }} {{ 'a\\nb\\r\\nc'.splitlines() }}", "{}", "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b c'] ['a', 'b,c'] ['a,b', 'c'] ['  a', 'b'] ['a', 'b', 'c']" },
        { "{{ 'xxhixx'.strip('x') }}|{{ '\\n\\n  hi\\n'.lstrip('\\n') }}|{{ 'hi\\n \\n'.rstrip('\\n') }}|{{ '  hi  '.strip() }}|{{ '  hi  '.lstrip() }}|{{ '  hi  '.rstrip() }}|{{ 'abcba'.strip('ab') }}", "{}", "hi|  hi\n|hi\n |hi|hi  |  hi|c" },
        { "{{ 'abc'.startswith('ab') }}{{ 'abc'.startswith(('x', 'a')) }}{{ 'abc'.endswith('bc') }}{{ 'abc'.startswith('b', 1) }}{{ 'Hello World'.upper() }}{{ 'Hello'.lower() }}{{ \"they're bill's\".title() }}{{ 'hELLO'.capitalize() }}{{ 'Ab'.swapcase() }}", "{}", "TrueTrueTrueTrueHELLO WORLDhelloThey'Re Bill'SHelloaB" },
        { "{{ 'abcabc'.find('c') }} {{ 'abcabc'.rfind('c') }} {{ 'abc'.find('z') }} {{ 'abcabc'.count('b') }} {{ 'abcabc'.index('b', 2) }} {{ 'a-b'.replace('-', '+') }} {{ 'aaa'.replace('a', 'b', 1) }} {{ ', '.join(['x', 'y']) }} {{ 'ab'.center(6, '*') }} {{ 'ab'.ljust(4, '.') }}|{{ 'ab'.rjust(4) }} {{ '42'.zfill(5) }} {{ '-42'.zfill(5) }}", "{}", "2 5 -1 2 4 a+b baa x, y **ab** ab..|  ab 00042 -0042" },
        { "{{ 'a=b=c'.partition('=') }} {{ 'a=b=c'.rpartition('=') }} {{ 'prefix_x'.removeprefix('prefix_') }} {{ 'x.txt'.removesuffix('.txt') }} {{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() }} {{ 'Ab'.istitle() }} {{ 'a1'.isalnum() }} {{ 'ab'.islower() }} {{ 'AB'.isupper() }}", "{}", "('a', '=', 'b=c') ('a=b', '=', 'c') x x True True True True True True True" },
        { "{{ l.index(2) }} {{ l.count(1) }} {{ (1, 2).index(2) }} {{ l.copy() }} {{ d.copy() }}", "{\"l\": [1, 2, 1], \"d\": {\"a\": 1}}", "1 2 1 [1, 2, 1] {'a': 1}" },
        // globals
        { "{{ dict(a=1, b='x') }} {{ dict({'a': 1}, b=2) }} {{ dict([['k', 'v']]) }} {% set j = joiner('/') %}{% for i in [1, 2, 3] %}{{ j() }}{{ i }}{% endfor %}", "{}", "{'a': 1, 'b': 'x'} {'a': 1, 'b': 2} {'k': 'v'} 1/2/3" },
        { "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S') }}|{{ strftime_now('%A %B %a %j %p %I %y %w %%') }}|{{ strftime_now('%-d/%-m %e') }}", "{}", "26 Jul 2024|2024-07-26 10:30:05|Friday July Fri 208 AM 10 24 5 %|26/7 26" },
        // undefined
        { "[{{ u }}][{{ u|length }}][{{ u|default('d') }}][{{ u is iterable }}][{% for x in u %}x{% endfor %}][{{ u ~ 'c' }}][{{ u|trim }}][{{ u|list }}][{{ u|join }}][{{ u|string }}][{{ u is none }}][{{ not u }}][{{ u == u }}][{{ 'a' in u }}][{{ u|first }}]", "{}", "[][0][d][True][][c][][[]][][][False][True][True][False][]" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void RendersAsTransformersDoes(string template, string contextJson, string expected)
        => Assert.Equal(expected, JinjaHarness.Render(template, contextJson));
}
