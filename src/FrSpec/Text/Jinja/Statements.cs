namespace FrSpec.Text.Jinja;

/// <summary>A statement node of the template body.</summary>
internal abstract record Stmt(int Position);

/// <summary>Template text and `{{ ... }}` expressions, printed with Python's str().</summary>
internal sealed record OutputStmt(Expr[] Items, int Position) : Stmt(Position);

internal sealed record IfStmt(Expr Test, Stmt[] Body, Stmt[] Else, int Position) : Stmt(Position);

internal sealed record ForStmt(Expr Target, Expr Iterable, Expr? Filter, Stmt[] Body, Stmt[] Else, bool Recursive, int Position) : Stmt(Position);

internal sealed record SetStmt(Expr Target, Expr Value, int Position) : Stmt(Position);

/// <summary>`{% set x | filter %}body{% endset %}`: Filter's operand is null (the rendered body).</summary>
internal sealed record SetBlockStmt(Expr Target, FilterExpr? Filter, Stmt[] Body, int Position) : Stmt(Position);

internal sealed record MacroParam(string Name, Expr? Default);

internal sealed record MacroStmt(string Name, MacroParam[] Params, Stmt[] Body, int Position) : Stmt(Position);

/// <summary>`{% call(params) macro(args) %}body{% endcall %}`: the body is passed as `caller`.</summary>
internal sealed record CallBlockStmt(CallExpr Call, MacroParam[] Params, Stmt[] Body, int Position) : Stmt(Position);

/// <summary>`{% filter f %}body{% endfilter %}`: Filter's innermost operand is null (the rendered body).</summary>
internal sealed record FilterBlockStmt(FilterExpr Filter, Stmt[] Body, int Position) : Stmt(Position);

internal sealed record WithStmt(Expr[] Targets, Expr[] Values, Stmt[] Body, int Position) : Stmt(Position);

/// <summary>A body rendered in its own scope: transformers' `{% generation %}` block.</summary>
internal sealed record ScopeStmt(Stmt[] Body, int Position) : Stmt(Position);

internal sealed record BreakStmt(int Position) : Stmt(Position);

internal sealed record ContinueStmt(int Position) : Stmt(Position);
