namespace FrSpec.Text.Jinja;

/// <summary>Walks a syntax tree; used to find which special names (varargs, kwargs, caller) a macro body reads.</summary>
internal static class SyntaxWalker
{
    public static void CollectNames(IEnumerable<Stmt> body, HashSet<string> names)
    {
        foreach (var s in body) Collect(s, names);
    }

    private static void Collect(Stmt s, HashSet<string> names)
    {
        switch (s)
        {
            case OutputStmt o: foreach (var e in o.Items) Collect(e, names); break;
            case IfStmt i: Collect(i.Test, names); CollectNames(i.Body, names); CollectNames(i.Else, names); break;
            case ForStmt f: Collect(f.Iterable, names); Collect(f.Filter, names); CollectNames(f.Body, names); CollectNames(f.Else, names); break;
            case SetStmt st: Collect(st.Value, names); break;
            case SetBlockStmt sb: Collect(sb.Filter, names); CollectNames(sb.Body, names); break;
            case MacroStmt m: foreach (var p in m.Params) Collect(p.Default, names); CollectNames(m.Body, names); break;
            case CallBlockStmt c: Collect(c.Call, names); CollectNames(c.Body, names); break;
            case FilterBlockStmt fb: Collect(fb.Filter, names); CollectNames(fb.Body, names); break;
            case WithStmt w: foreach (var v in w.Values) Collect(v, names); CollectNames(w.Body, names); break;
            case ScopeStmt sc: CollectNames(sc.Body, names); break;
        }
    }

    private static void Collect(CallArgs a, HashSet<string> names)
    {
        foreach (var e in a.Positional) Collect(e, names);
        foreach (var (_, e) in a.Keywords) Collect(e, names);
        Collect(a.Star, names);
        Collect(a.DoubleStar, names);
    }

    private static void Collect(Expr? e, HashSet<string> names)
    {
        System.Runtime.CompilerServices.RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (e)
        {
            case null or ConstExpr: break;
            case NameExpr n: names.Add(n.Name); break;
            case NamespaceRefExpr r: names.Add(r.Name); break;
            case ListExpr l: foreach (var x in l.Items) Collect(x, names); break;
            case TupleExpr t: foreach (var x in t.Items) Collect(x, names); break;
            case DictExpr d: foreach (var (k, v) in d.Pairs) { Collect(k, names); Collect(v, names); } break;
            case GetAttrExpr a: Collect(a.Target, names); break;
            case GetItemExpr g: Collect(g.Target, names); Collect(g.Key, names); break;
            case SliceExpr sl: Collect(sl.Start, names); Collect(sl.Stop, names); Collect(sl.Step, names); break;
            case CallExpr c: Collect(c.Callee, names); Collect(c.Args, names); break;
            case FilterExpr f: Collect(f.Operand, names); Collect(f.Args, names); break;
            case TestExpr t: Collect(t.Operand, names); Collect(t.Args, names); break;
            case NotExpr n: Collect(n.Operand, names); break;
            case NegateExpr n: Collect(n.Operand, names); break;
            case BinaryExpr b: Collect(b.Left, names); Collect(b.Right, names); break;
            case AndExpr a: Collect(a.Left, names); Collect(a.Right, names); break;
            case OrExpr o: Collect(o.Left, names); Collect(o.Right, names); break;
            case ConcatExpr c: foreach (var x in c.Items) Collect(x, names); break;
            case CompareExpr c: Collect(c.First, names); foreach (var (_, x) in c.Rest) Collect(x, names); break;
            case CondExpr c: Collect(c.Test, names); Collect(c.Then, names); Collect(c.Otherwise, names); break;
        }
    }
}
