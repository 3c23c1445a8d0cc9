using System.Runtime.CompilerServices;

namespace FrSpec.Text.Jinja;

/// <summary>
/// Recursive-descent parser following Jinja2's grammar and operator precedence (ternary, or, and, not, comparisons
/// with chaining and `in`, + -, ~, * / // %, **, unary - +, then postfix access/calls, filters and tests), for the
/// statements a chat template uses: if/elif/else, for (with `if` filter, else, unpacking), set (also block set and
/// namespace attributes), macro, call, filter, with, break/continue, print and transformers' generation block.
/// Nesting deeper than the limit is a syntax error rather than a stack overflow.
/// </summary>
internal sealed class Parser
{
    private static readonly HashSet<string> Unsupported = ["block", "extends", "include", "import", "from", "autoescape"];

    private readonly List<Token> _tokens;
    private readonly int _maxDepth;
    private int _i, _depth, _loops;

    private Parser(List<Token> tokens, int maxDepth)
    {
        _tokens = tokens;
        _maxDepth = maxDepth;
    }

    public static Stmt[] Parse(List<Token> tokens, int maxDepth)
    {
        var parser = new Parser(tokens, maxDepth);
        try { return parser.Subparse(null); }
        catch (InsufficientExecutionStackException) { throw new JinjaException("template nesting is too deep", parser.Current.Position); }
    }

    private Token Current => _tokens[_i];
    private Token Peek => _tokens[Math.Min(_i + 1, _tokens.Count - 1)];

    private Token Advance()
    {
        var t = _tokens[_i];
        if (_i < _tokens.Count - 1) _i++;
        return t;
    }

    private JinjaException Fail(string message, Token? at = null) => new(message, (at ?? Current).Position);

    private Token Expect(TokenKind kind, string? text = null)
    {
        var t = Current;
        if (t.Kind != kind || text is not null && t.Text != text)
        {
            string want = kind switch
            {
                TokenKind.BlockEnd => "end of statement block",
                TokenKind.VariableEnd => "end of print statement",
                TokenKind.Name => text is null ? "a name" : $"'{text}'",
                _ => $"'{text}'",
            };
            throw Fail(t.Kind == TokenKind.Eof ? $"unexpected end of template, expected {want}" : $"expected {want}, got {t.Describe()}");
        }
        return Advance();
    }

    private bool SkipOperator(string op)
    {
        if (!Current.IsOperator(op)) return false;
        Advance();
        return true;
    }

    private bool SkipName(string name)
    {
        if (!Current.IsName(name)) return false;
        Advance();
        return true;
    }

    private void Enter()
    {
        if (++_depth > _maxDepth) throw Fail($"template nesting is deeper than {_maxDepth} levels");
        RuntimeHelpers.EnsureSufficientExecutionStack();
    }

    private Stmt[] Subparse(string[]? endTokens)
    {
        Enter();
        var body = new List<Stmt>();
        var data = new List<Expr>();
        int dataPosition = 0;
        void Flush()
        {
            if (data.Count == 0) return;
            body.Add(new OutputStmt(data.ToArray(), dataPosition));
            data.Clear();
        }
        while (Current.Kind != TokenKind.Eof)
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.Data:
                    if (data.Count == 0) dataPosition = t.Position;
                    data.Add(new ConstExpr(StringValue.Of(t.Text), t.Position));
                    Advance();
                    break;
                case TokenKind.VariableBegin:
                    if (data.Count == 0) dataPosition = t.Position;
                    Advance();
                    data.Add(ParseTuple(withCondExpr: true));
                    Expect(TokenKind.VariableEnd);
                    break;
                case TokenKind.BlockBegin:
                    Flush();
                    Advance();
                    if (endTokens is not null && Current.Kind == TokenKind.Name && endTokens.Contains(Current.Text))
                    {
                        _depth--;
                        return body.ToArray();
                    }
                    body.Add(ParseStatement());
                    Expect(TokenKind.BlockEnd);
                    break;
                default:
                    throw Fail($"unexpected {t.Describe()}");
            }
        }
        Flush();
        if (endTokens is not null)
            throw Fail($"unexpected end of template, expected {string.Join(" or ", endTokens.Select(e => $"'{e}'"))}");
        _depth--;
        return body.ToArray();
    }

    /// <summary>Body of a block statement: the opening tag's end, then statements up to one of the end tags.</summary>
    private Stmt[] ParseStatements(string[] endTokens, bool dropNeedle = false)
    {
        SkipOperator(":");
        Expect(TokenKind.BlockEnd);
        var body = Subparse(endTokens);
        if (dropNeedle) Advance();
        return body;
    }

    private Stmt ParseStatement()
    {
        var t = Current;
        if (t.Kind != TokenKind.Name) throw Fail("tag name expected");
        switch (t.Text)
        {
            case "if": return ParseIf(Advance());
            case "for": return ParseFor();
            case "set": return ParseSet();
            case "macro": return ParseMacro();
            case "call": return ParseCallBlock();
            case "filter": return ParseFilterBlock();
            case "with": return ParseWith();
            case "print": return ParsePrint();
            case "generation":
                Advance();
                return new ScopeStmt(ParseStatements(["endgeneration"], dropNeedle: true), t.Position);
            case "break" or "continue":
                Advance();
                if (_loops == 0) throw Fail($"'{t.Text}' outside of a loop", t);
                return t.Text == "break" ? new BreakStmt(t.Position) : new ContinueStmt(t.Position);
        }
        if (Unsupported.Contains(t.Text))
            throw Fail($"'{t.Text}' is not supported: a chat template is rendered alone and cannot load or extend other templates", t);
        throw Fail($"unknown tag '{t.Text}'", t);
    }

    /// <summary>An if statement from its test on (the "if" or "elif" keyword is consumed already).</summary>
    private IfStmt ParseIf(Token t)
    {
        var test = ParseTuple(withCondExpr: true);
        var body = ParseStatements(["elif", "else", "endif"]);
        var end = Advance();
        Stmt[] otherwise = [];
        if (end.Text == "elif") otherwise = [ParseIf(end)];
        else if (end.Text == "else") otherwise = ParseStatements(["endif"], dropNeedle: true);
        return new IfStmt(test, body, otherwise, t.Position);
    }

    private ForStmt ParseFor()
    {
        var t = Advance();
        var target = ParseAssignTarget(extraEnd: ["in"]);
        Expect(TokenKind.Name, "in");
        var iterable = ParseTuple(withCondExpr: false, extraEnd: ["recursive"]);
        Expr? filter = null;
        if (SkipName("if")) filter = ParseExpression();
        bool recursive = SkipName("recursive");
        if (recursive) throw Fail("recursive for loops are not supported", t);
        _loops++;
        var body = ParseStatements(["endfor", "else"]);
        _loops--;
        Stmt[] otherwise = [];
        if (Advance().Text == "else") otherwise = ParseStatements(["endfor"], dropNeedle: true);
        return new ForStmt(target, iterable, filter, body, otherwise, recursive, t.Position);
    }

    private Stmt ParseSet()
    {
        var t = Advance();
        var target = ParseAssignTarget(withNamespace: true);
        if (SkipOperator("=")) return new SetStmt(target, ParseTuple(withCondExpr: true), t.Position);
        var filter = Current.IsOperator("|") ? ParseFilter(null) : null;
        var body = ParseStatements(["endset"], dropNeedle: true);
        return new SetBlockStmt(target, filter, body, t.Position);
    }

    private MacroParam[] ParseSignature()
    {
        Expect(TokenKind.Operator, "(");
        var args = new List<MacroParam>();
        bool defaults = false;
        while (!Current.IsOperator(")"))
        {
            if (args.Count > 0) Expect(TokenKind.Operator, ",");
            var name = Expect(TokenKind.Name);
            if (args.Any(a => a.Name == name.Text)) throw Fail($"duplicate parameter '{name.Text}'", name);
            Expr? def = null;
            if (SkipOperator("=")) { def = ParseExpression(); defaults = true; }
            else if (defaults) throw Fail("non-default argument follows default argument", name);
            args.Add(new MacroParam(name.Text, def));
        }
        Expect(TokenKind.Operator, ")");
        return args.ToArray();
    }

    private MacroStmt ParseMacro()
    {
        var t = Advance();
        var name = Expect(TokenKind.Name).Text;
        var args = ParseSignature();
        int loops = _loops;
        _loops = 0;
        var body = ParseStatements(["endmacro"], dropNeedle: true);
        _loops = loops;
        return new MacroStmt(name, args, body, t.Position);
    }

    private CallBlockStmt ParseCallBlock()
    {
        var t = Advance();
        var args = Current.IsOperator("(") ? ParseSignature() : [];
        if (ParseExpression() is not CallExpr call) throw Fail("expected call", t);
        int loops = _loops;
        _loops = 0;
        var body = ParseStatements(["endcall"], dropNeedle: true);
        _loops = loops;
        return new CallBlockStmt(call, args, body, t.Position);
    }

    private FilterBlockStmt ParseFilterBlock()
    {
        var t = Advance();
        var filter = ParseFilter(null, startInline: true)!;
        var body = ParseStatements(["endfilter"], dropNeedle: true);
        return new FilterBlockStmt(filter, body, t.Position);
    }

    private WithStmt ParseWith()
    {
        var t = Advance();
        var targets = new List<Expr>();
        var values = new List<Expr>();
        while (Current.Kind != TokenKind.BlockEnd)
        {
            if (targets.Count > 0) Expect(TokenKind.Operator, ",");
            targets.Add(ParseAssignTarget());
            Expect(TokenKind.Operator, "=");
            values.Add(ParseExpression());
        }
        return new WithStmt(targets.ToArray(), values.ToArray(), ParseStatements(["endwith"], dropNeedle: true), t.Position);
    }

    private OutputStmt ParsePrint()
    {
        var t = Advance();
        var items = new List<Expr>();
        while (Current.Kind != TokenKind.BlockEnd)
        {
            if (items.Count > 0) Expect(TokenKind.Operator, ",");
            items.Add(ParseExpression());
        }
        return new OutputStmt(items.ToArray(), t.Position);
    }

    private Expr ParseAssignTarget(string[]? extraEnd = null, bool withNamespace = false)
    {
        var at = Current;
        var target = ParseTuple(simplified: true, extraEnd: extraEnd, withNamespace: withNamespace);
        if (!CanAssign(target)) throw Fail($"can't assign to {Describe(target)}", at);
        return target;

        static bool CanAssign(Expr e) => e switch
        {
            NameExpr n => n.Name is not ("true" or "false" or "none" or "True" or "False" or "None"),
            NamespaceRefExpr => true,
            TupleExpr t => t.Items.All(CanAssign),
            _ => false,
        };

        static string Describe(Expr e) => e switch
        {
            ConstExpr => "a literal",
            ListExpr => "a list",
            DictExpr => "a dict",
            _ => "this expression",
        };
    }

    private Expr ParseExpression(bool withCondExpr = true) => withCondExpr ? ParseCondExpr() : ParseOr();

    private Expr ParseCondExpr()
    {
        Enter();
        var at = Current.Position;
        var expr = ParseOr();
        while (SkipName("if"))
        {
            var test = ParseOr();
            var otherwise = SkipName("else") ? ParseCondExpr() : null;
            expr = new CondExpr(test, expr, otherwise, at);
        }
        _depth--;
        return expr;
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Current.IsName("or"))
        {
            var t = Advance();
            left = new OrExpr(left, ParseAnd(), t.Position);
        }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (Current.IsName("and"))
        {
            var t = Advance();
            left = new AndExpr(left, ParseNot(), t.Position);
        }
        return left;
    }

    private Expr ParseNot()
    {
        if (!Current.IsName("not")) return ParseCompare();
        var t = Advance();
        Enter();
        var operand = ParseNot();
        _depth--;
        return new NotExpr(operand, t.Position);
    }

    private static readonly HashSet<string> CompareOperators = ["==", "!=", "<", "<=", ">", ">="];

    private Expr ParseCompare()
    {
        var first = ParseMath1();
        var ops = new List<(string, Expr)>();
        int at = Current.Position;
        while (true)
        {
            var t = Current;
            if (t.Kind == TokenKind.Operator && CompareOperators.Contains(t.Text)) { Advance(); ops.Add((t.Text, ParseMath1())); }
            else if (SkipName("in")) ops.Add(("in", ParseMath1()));
            else if (t.IsName("not") && Peek.IsName("in")) { Advance(); Advance(); ops.Add(("notin", ParseMath1())); }
            else break;
        }
        return ops.Count == 0 ? first : new CompareExpr(first, ops.ToArray(), at);
    }

    private Expr ParseMath1()
    {
        var left = ParseConcat();
        while (Current.Kind == TokenKind.Operator && Current.Text is "+" or "-")
        {
            var t = Advance();
            left = new BinaryExpr(t.Text, left, ParseConcat(), t.Position);
        }
        return left;
    }

    private Expr ParseConcat()
    {
        var first = ParseMath2();
        if (!Current.IsOperator("~")) return first;
        var at = Current.Position;
        var items = new List<Expr> { first };
        while (SkipOperator("~")) items.Add(ParseMath2());
        return new ConcatExpr(items.ToArray(), at);
    }

    private Expr ParseMath2()
    {
        var left = ParsePow();
        while (Current.Kind == TokenKind.Operator && Current.Text is "*" or "/" or "//" or "%")
        {
            var t = Advance();
            left = new BinaryExpr(t.Text, left, ParsePow(), t.Position);
        }
        return left;
    }

    private Expr ParsePow()
    {
        var left = ParseUnary();
        while (Current.IsOperator("**"))
        {
            var t = Advance();
            left = new BinaryExpr("**", left, ParseUnary(), t.Position);
        }
        return left;
    }

    private Expr ParseUnary(bool withFilter = true)
    {
        var t = Current;
        Expr node;
        if (t.IsOperator("-") || t.IsOperator("+"))
        {
            Advance();
            Enter();
            node = new NegateExpr(ParseUnary(false), t.Text == "-", t.Position);
            _depth--;
        }
        else node = ParsePrimary();
        node = ParsePostfix(node);
        return withFilter ? ParseFilterExpr(node) : node;
    }

    private Expr ParsePrimary(bool withNamespace = false)
    {
        var t = Current;
        switch (t.Kind)
        {
            case TokenKind.Name:
                Advance();
                if (t.Text is "true" or "True") return new ConstExpr(BoolValue.True, t.Position);
                if (t.Text is "false" or "False") return new ConstExpr(BoolValue.False, t.Position);
                if (t.Text is "none" or "None") return new ConstExpr(NoneValue.Instance, t.Position);
                if (withNamespace && Current.IsOperator("."))
                {
                    Advance();
                    return new NamespaceRefExpr(t.Text, Expect(TokenKind.Name).Text, t.Position);
                }
                return new NameExpr(t.Text, t.Position);
            case TokenKind.String:
            {
                Advance();
                string s = t.Text;
                while (Current.Kind == TokenKind.String) s += Advance().Text;
                return new ConstExpr(StringValue.Of(s), t.Position);
            }
            case TokenKind.Integer:
                Advance();
                return new ConstExpr(IntValue.Of((long)t.Number!), t.Position);
            case TokenKind.Float:
                Advance();
                return new ConstExpr(new FloatValue((double)t.Number!), t.Position);
            case TokenKind.Operator when t.Text == "(":
            {
                Advance();
                Enter();
                var e = ParseTuple(explicitParentheses: true);
                Expect(TokenKind.Operator, ")");
                _depth--;
                return e;
            }
            case TokenKind.Operator when t.Text == "[":
                return ParseList();
            case TokenKind.Operator when t.Text == "{":
                return ParseDict();
        }
        throw Fail(t.Kind == TokenKind.Eof ? "unexpected end of template" : $"unexpected {t.Describe()}");
    }

    private bool IsTupleEnd(string[]? extraEnd)
    {
        var t = Current;
        if (t.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd || t.IsOperator(")")) return true;
        return extraEnd is not null && t.Kind == TokenKind.Name && extraEnd.Contains(t.Text);
    }

    private Expr ParseTuple(bool simplified = false, bool withCondExpr = true, string[]? extraEnd = null,
        bool explicitParentheses = false, bool withNamespace = false)
    {
        int at = Current.Position;
        var args = new List<Expr>();
        bool isTuple = false;
        while (true)
        {
            if (args.Count > 0) Expect(TokenKind.Operator, ",");
            if (IsTupleEnd(extraEnd)) break;
            args.Add(simplified ? ParsePrimary(withNamespace) : ParseExpression(withCondExpr));
            if (Current.IsOperator(",")) isTuple = true;
            else break;
        }
        if (!isTuple)
        {
            if (args.Count > 0) return args[0];
            if (!explicitParentheses) throw Fail($"expected an expression, got {Current.Describe()}");
        }
        return new TupleExpr(args.ToArray(), at);
    }

    private Expr ParseList()
    {
        var t = Expect(TokenKind.Operator, "[");
        Enter();
        var items = new List<Expr>();
        while (!Current.IsOperator("]"))
        {
            if (items.Count > 0) Expect(TokenKind.Operator, ",");
            if (Current.IsOperator("]")) break;
            items.Add(ParseExpression());
        }
        Expect(TokenKind.Operator, "]");
        _depth--;
        return new ListExpr(items.ToArray(), t.Position);
    }

    private Expr ParseDict()
    {
        var t = Expect(TokenKind.Operator, "{");
        Enter();
        var pairs = new List<(Expr, Expr)>();
        while (!Current.IsOperator("}"))
        {
            if (pairs.Count > 0) Expect(TokenKind.Operator, ",");
            if (Current.IsOperator("}")) break;
            var key = ParseExpression();
            Expect(TokenKind.Operator, ":");
            pairs.Add((key, ParseExpression()));
        }
        Expect(TokenKind.Operator, "}");
        _depth--;
        return new DictExpr(pairs.ToArray(), t.Position);
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            if (Current.IsOperator(".") || Current.IsOperator("[")) node = ParseSubscript(node);
            else if (Current.IsOperator("(")) node = ParseCall(node);
            else return node;
        }
    }

    private Expr ParseFilterExpr(Expr node)
    {
        while (true)
        {
            if (Current.IsOperator("|")) node = ParseFilter(node)!;
            else if (Current.IsName("is")) node = ParseTest(node);
            else if (Current.IsOperator("(")) node = ParseCall(node);
            else return node;
        }
    }

    private Expr ParseSubscript(Expr node)
    {
        var t = Advance();
        if (t.Text == ".")
        {
            var attr = Advance();
            if (attr.Kind == TokenKind.Name) return new GetAttrExpr(node, attr.Text, t.Position);
            if (attr.Kind != TokenKind.Integer) throw Fail("expected name or number", attr);
            return new GetItemExpr(node, new ConstExpr(IntValue.Of((long)attr.Number!), attr.Position), t.Position);
        }
        Enter();
        var args = new List<Expr>();
        while (!Current.IsOperator("]"))
        {
            if (args.Count > 0) Expect(TokenKind.Operator, ",");
            args.Add(ParseSubscribed());
        }
        Expect(TokenKind.Operator, "]");
        _depth--;
        if (args.Count == 0) throw Fail("expected a subscript", t);
        var key = args.Count == 1 ? args[0] : new TupleExpr(args.ToArray(), t.Position);
        return new GetItemExpr(node, key, t.Position);
    }

    private Expr ParseSubscribed()
    {
        int at = Current.Position;
        var parts = new List<Expr?>();
        if (Current.IsOperator(":"))
        {
            Advance();
            parts.Add(null);
        }
        else
        {
            var node = ParseExpression();
            if (!Current.IsOperator(":")) return node;
            Advance();
            parts.Add(node);
        }
        if (Current.IsOperator(":")) parts.Add(null);
        else if (!Current.IsOperator("]") && !Current.IsOperator(",")) parts.Add(ParseExpression());
        else parts.Add(null);
        if (Current.IsOperator(":"))
        {
            Advance();
            parts.Add(!Current.IsOperator("]") && !Current.IsOperator(",") ? ParseExpression() : null);
        }
        else parts.Add(null);
        return new SliceExpr(parts[0], parts[1], parts[2], at);
    }

    private CallArgs ParseCallArgs()
    {
        var open = Expect(TokenKind.Operator, "(");
        Enter();
        var args = new List<Expr>();
        var kwargs = new List<(string, Expr)>();
        Expr? star = null, doubleStar = null;
        bool requireComma = false;
        void Ensure(bool ok)
        {
            if (!ok) throw Fail("invalid syntax for function call expression", open);
        }
        while (!Current.IsOperator(")"))
        {
            if (requireComma)
            {
                Expect(TokenKind.Operator, ",");
                if (Current.IsOperator(")")) break;
            }
            if (Current.IsOperator("*"))
            {
                Ensure(star is null && doubleStar is null);
                Advance();
                star = ParseExpression();
            }
            else if (Current.IsOperator("**"))
            {
                Ensure(doubleStar is null);
                Advance();
                doubleStar = ParseExpression();
            }
            else if (Current.Kind == TokenKind.Name && Peek.IsOperator("="))
            {
                Ensure(doubleStar is null);
                var key = Advance().Text;
                Advance();
                if (kwargs.Any(k => k.Item1 == key)) throw Fail($"keyword argument repeated: {key}");
                kwargs.Add((key, ParseExpression()));
            }
            else
            {
                Ensure(star is null && doubleStar is null && kwargs.Count == 0);
                args.Add(ParseExpression());
            }
            requireComma = true;
        }
        Expect(TokenKind.Operator, ")");
        _depth--;
        return new CallArgs(args.ToArray(), kwargs.ToArray(), star, doubleStar);
    }

    private Expr ParseCall(Expr node)
    {
        int at = Current.Position;
        return new CallExpr(node, ParseCallArgs(), at);
    }

    private FilterExpr? ParseFilter(Expr? node, bool startInline = false)
    {
        FilterExpr? result = null;
        while (Current.IsOperator("|") || startInline)
        {
            if (!startInline) Advance();
            var name = Expect(TokenKind.Name);
            string full = name.Text;
            while (Current.IsOperator("."))
            {
                Advance();
                full += "." + Expect(TokenKind.Name).Text;
            }
            var args = Current.IsOperator("(") ? ParseCallArgs() : CallArgs.None;
            result = new FilterExpr(node, full, args, name.Position);
            node = result;
            startInline = false;
        }
        return result;
    }

    private Expr ParseTest(Expr node)
    {
        var isToken = Advance();
        bool negated = SkipName("not");
        string name = Expect(TokenKind.Name).Text;
        while (Current.IsOperator("."))
        {
            Advance();
            name += "." + Expect(TokenKind.Name).Text;
        }
        CallArgs args;
        var t = Current;
        if (t.IsOperator("(")) args = ParseCallArgs();
        else if ((t.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                  || t.IsOperator("(") || t.IsOperator("[") || t.IsOperator("{"))
                 && !t.IsName("else") && !t.IsName("or") && !t.IsName("and"))
        {
            if (t.IsName("is")) throw Fail("you cannot chain multiple tests with is");
            args = new CallArgs([ParsePostfix(ParsePrimary())], [], null, null);
        }
        else args = CallArgs.None;
        Expr result = new TestExpr(node, name, args, isToken.Position);
        return negated ? new NotExpr(result, isToken.Position) : result;
    }
}
