namespace FrSpec.Text.Jinja;

/// <summary>An expression node; <see cref="Position"/> is its offset in the template, for error messages.</summary>
internal abstract record Expr(int Position);

internal sealed record ConstExpr(Value Value, int Position) : Expr(Position);

internal sealed record NameExpr(string Name, int Position) : Expr(Position);

/// <summary>`ns.attr` as an assignment target.</summary>
internal sealed record NamespaceRefExpr(string Name, string Attribute, int Position) : Expr(Position);

internal sealed record ListExpr(Expr[] Items, int Position) : Expr(Position);

internal sealed record TupleExpr(Expr[] Items, int Position) : Expr(Position);

internal sealed record DictExpr((Expr Key, Expr Value)[] Pairs, int Position) : Expr(Position);

/// <summary>`obj.name`: an attribute first, then an item (Jinja's getattr).</summary>
internal sealed record GetAttrExpr(Expr Target, string Name, int Position) : Expr(Position);

/// <summary>`obj[key]`: an item first, then an attribute (Jinja's getitem). The key may be a <see cref="SliceExpr"/>.</summary>
internal sealed record GetItemExpr(Expr Target, Expr Key, int Position) : Expr(Position);

internal sealed record SliceExpr(Expr? Start, Expr? Stop, Expr? Step, int Position) : Expr(Position);

/// <summary>Arguments as written: positional, keyword, and *args / **kwargs expansions.</summary>
internal sealed record CallArgs(Expr[] Positional, (string Name, Expr Value)[] Keywords, Expr? Star, Expr? DoubleStar)
{
    public static readonly CallArgs None = new([], [], null, null);
}

internal sealed record CallExpr(Expr Callee, CallArgs Args, int Position) : Expr(Position);

/// <summary>`operand | name(args)`; a null operand stands for the body of a filter block or block set.</summary>
internal sealed record FilterExpr(Expr? Operand, string Name, CallArgs Args, int Position) : Expr(Position);

/// <summary>`operand is name(args)` (negation is a <see cref="NotExpr"/> around it).</summary>
internal sealed record TestExpr(Expr Operand, string Name, CallArgs Args, int Position) : Expr(Position);

internal sealed record NotExpr(Expr Operand, int Position) : Expr(Position);

/// <summary>Unary "-" or "+".</summary>
internal sealed record NegateExpr(Expr Operand, bool Minus, int Position) : Expr(Position);

/// <summary>Arithmetic: + - * / // % **.</summary>
internal sealed record BinaryExpr(string Operator, Expr Left, Expr Right, int Position) : Expr(Position);

internal sealed record AndExpr(Expr Left, Expr Right, int Position) : Expr(Position);

internal sealed record OrExpr(Expr Left, Expr Right, int Position) : Expr(Position);

/// <summary>`a ~ b ~ c`: string concatenation of str() of each.</summary>
internal sealed record ConcatExpr(Expr[] Items, int Position) : Expr(Position);

/// <summary>A chained comparison `a &lt; b == c` (operators ==, !=, &lt;, &lt;=, &gt;, &gt;=, in, notin).</summary>
internal sealed record CompareExpr(Expr First, (string Operator, Expr Operand)[] Rest, int Position) : Expr(Position);

/// <summary>`then if test else otherwise`; without else the value is undefined when the test fails.</summary>
internal sealed record CondExpr(Expr Test, Expr Then, Expr? Otherwise, int Position) : Expr(Position);
