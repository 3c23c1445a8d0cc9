namespace FrSpec.Text.Jinja;

/// <summary>
/// A parsed Jinja template, rendered the way transformers renders chat templates (ImmutableSandboxedEnvironment with
/// trim_blocks and lstrip_blocks, loop controls, its tojson, raise_exception and strftime_now). Thread-safe: each
/// render has its own state. Every error is a one-line <see cref="FrSpecException"/> naming the template and the
/// line and column.
/// </summary>
internal sealed class JinjaTemplate
{
    private readonly string _source;
    private readonly Stmt[] _body;

    public string Name { get; }
    public JinjaLimits Limits { get; }

    private JinjaTemplate(string name, string source, Stmt[] body, JinjaLimits limits)
    {
        Name = name;
        _source = source;
        _body = body;
        Limits = limits;
    }

    /// <summary>Parses <paramref name="template"/>; <paramref name="name"/> names it in errors.</summary>
    public static JinjaTemplate Parse(string template, string name, JinjaLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(template);
        limits ??= JinjaLimits.Default;
        if (template.Length > limits.MaxTemplateChars)
            throw new FrSpecException($"{name}: the template has {template.Length} characters, over the limit of {limits.MaxTemplateChars} (MaxTemplateChars)");
        string source = Lexer.Normalize(template);
        try
        {
            return new JinjaTemplate(name, source, Parser.Parse(Lexer.Tokenize(source), limits.MaxDepth), limits);
        }
        catch (JinjaException e) { throw Error(name, source, e, "syntax error"); }
    }

    /// <summary>Renders with the given variables (converted by <see cref="ValueConverter"/>) and clock.</summary>
    public string Render(IReadOnlyDictionary<string, Value> variables, Func<DateTime>? clock = null)
    {
        var root = new Scope(null);
        Globals.AddTo(root);
        foreach (var (k, v) in variables) root.Set(k, v);
        var interp = new Interpreter(new Budget(Limits), clock ?? (() => DateTime.Now));
        try { return interp.Render(_body, new Scope(root)); }
        catch (JinjaException e) { throw Error(Name, _source, e, e.RaisedByTemplate ? "raise_exception" : "error"); }
    }

    private static FrSpecException Error(string name, string source, JinjaException e, string kind)
    {
        string where = "";
        if (e.Position >= 0)
        {
            int pos = Math.Min(e.Position, source.Length);
            int line = 1, lineStart = 0;
            for (int i = 0; i < pos; i++)
                if (source[i] == '\n') { line++; lineStart = i + 1; }
            where = $" at line {line}, column {pos - lineStart + 1}";
        }
        string message = e.Message.Replace("\r", "\\r").Replace("\n", "\\n");
        return new FrSpecException($"{name}: {kind}{where}: {message}", e);
    }
}
