using System.Runtime.CompilerServices;

namespace FrSpec.Text.Jinja;

/// <summary>
/// Runs a parsed template: statements write to an output buffer, expressions evaluate to <see cref="Value"/>s, with
/// Jinja2's scoping and Python's semantics. Every statement, expression and loop iteration is a step of the
/// render's <see cref="Budget"/>; errors carry the offset of the innermost node that failed.
/// </summary>
internal sealed class Interpreter(Budget budget, Func<DateTime> clock)
{
    private enum Flow { Normal, Break, Continue }

    private readonly ConditionalWeakTable<MacroStmt, MacroUses> _macroUses = new();

    public Budget Budget { get; } = budget;
    public Func<DateTime> Clock { get; } = clock;

    public string Render(Stmt[] body, Scope scope)
    {
        var output = new TextBuilder(Budget);
        try { Exec(body, scope, output); }
        catch (InsufficientExecutionStackException) { throw new JinjaException("the template nests too deeply (out of stack)"); }
        return output.Build();
    }

    private Flow Exec(Stmt[] body, Scope scope, TextBuilder output)
    {
        foreach (var stmt in body)
        {
            Budget.Step();
            try
            {
                var flow = ExecOne(stmt, scope, output);
                if (flow != Flow.Normal) return flow;
            }
            catch (JinjaException e) when (e.Position < 0)
            {
                e.Position = stmt.Position;
                throw;
            }
        }
        return Flow.Normal;
    }

    private Flow ExecOne(Stmt stmt, Scope scope, TextBuilder output)
    {
        switch (stmt)
        {
            case OutputStmt o:
                foreach (var item in o.Items)
                    output.Append(item is ConstExpr { Value: StringValue text } ? text.Value : PyRepr.Str(Eval(item, scope), Budget));
                return Flow.Normal;
            case IfStmt i:
                return Exec(Operators.Truthy(Eval(i.Test, scope)) ? i.Body : i.Else, scope, output);
            case ForStmt f:
                ExecFor(f, scope, output);
                return Flow.Normal;
            case SetStmt s:
                Assign(s.Target, Eval(s.Value, scope), scope);
                return Flow.Normal;
            case SetBlockStmt sb:
            {
                Value text = Budget.NewString(Capture(sb.Body, new Scope(scope)));
                if (sb.Filter is not null) text = ApplyFilterChain(sb.Filter, text, scope);
                Assign(sb.Target, text, scope);
                return Flow.Normal;
            }
            case MacroStmt m:
                scope.Set(m.Name, MakeMacro(m.Name, m.Params, m.Body, scope, Uses(m)));
                return Flow.Normal;
            case CallBlockStmt c:
            {
                var caller = MakeMacro("caller", c.Params, c.Body, scope, MacroUses.Scan(c.Body));
                var call = c.Call with { Args = c.Call.Args with { Keywords = [.. c.Call.Args.Keywords, ("caller", new ConstExpr(caller, c.Position))] } };
                output.Append(PyRepr.Str(Eval(call, scope), Budget));
                return Flow.Normal;
            }
            case FilterBlockStmt fb:
                output.Append(PyRepr.Str(ApplyFilterChain(fb.Filter, Budget.NewString(Capture(fb.Body, new Scope(scope))), scope), Budget));
                return Flow.Normal;
            case WithStmt w:
            {
                var inner = new Scope(scope);
                for (int k = 0; k < w.Targets.Length; k++) Assign(w.Targets[k], Eval(w.Values[k], scope), inner);
                return Exec(w.Body, inner, output);
            }
            case ScopeStmt sc:
                return Exec(sc.Body, new Scope(scope), output);
            case BreakStmt:
                return Flow.Break;
            case ContinueStmt:
                return Flow.Continue;
        }
        throw new JinjaException($"unknown statement {stmt.GetType().Name}");
    }

    private string Capture(Stmt[] body, Scope scope)
    {
        var sb = new TextBuilder(Budget);
        Exec(body, scope, sb);
        return sb.Build();
    }

    private void ExecFor(ForStmt f, Scope scope, TextBuilder output)
    {
        var items = Operators.Iterate(Eval(f.Iterable, scope));
        if (f.Filter is not null)
        {
            var kept = new List<Value>();
            foreach (var item in items)
            {
                Budget.Step();
                var test = new Scope(scope);
                Assign(f.Target, item, test);
                if (Operators.Truthy(Eval(f.Filter, test))) kept.Add(item);
            }
            items = kept.ToArray();
        }
        if (items.Length == 0)
        {
            Exec(f.Else, new Scope(scope), output);
            return;
        }
        var loop = new LoopValue(items, 0);
        for (int i = 0; i < items.Length; i++)
        {
            Budget.Step();
            loop.Index0 = i;
            var iteration = new Scope(scope);
            iteration.Set("loop", loop);
            Assign(f.Target, items[i], iteration);
            if (Exec(f.Body, iteration, output) == Flow.Break) break;
        }
    }

    private void Assign(Expr target, Value value, Scope scope)
    {
        switch (target)
        {
            case NameExpr n:
                scope.Set(n.Name, value);
                return;
            case NamespaceRefExpr r:
                if (scope.Lookup(r.Name) is not NamespaceValue ns)
                    throw new JinjaException("cannot assign attribute on non-namespace object", r.Position);
                ns.Attributes[r.Attribute] = value;
                return;
            case TupleExpr t:
            {
                if (value is not (ListValue or StringValue or DictValue or UndefinedValue))
                    throw new JinjaException($"cannot unpack non-iterable {value.TypeName} object", t.Position);
                var items = Operators.Iterate(value);
                if (items.Length != t.Items.Length)
                    throw new JinjaException(items.Length > t.Items.Length
                        ? $"too many values to unpack (expected {t.Items.Length})"
                        : $"not enough values to unpack (expected {t.Items.Length}, got {items.Length})", t.Position);
                for (int i = 0; i < items.Length; i++) Assign(t.Items[i], items[i], scope);
                return;
            }
        }
        throw new JinjaException("invalid assignment target", target.Position);
    }

    public Value Eval(Expr e, Scope scope)
    {
        Budget.Step();
        // Long operator and filter chains parse iteratively but evaluate recursively: stop before the stack runs out.
        RuntimeHelpers.EnsureSufficientExecutionStack();
        try { return EvalOne(e, scope); }
        catch (JinjaException ex) when (ex.Position < 0)
        {
            ex.Position = e.Position;
            throw;
        }
    }

    private Value EvalOne(Expr e, Scope scope)
    {
        switch (e)
        {
            case ConstExpr c:
                return c.Value;
            case NameExpr n:
                return scope.Lookup(n.Name) ?? new UndefinedValue($"'{n.Name}' is undefined");
            case ListExpr l:
                return Budget.NewList(l.Items.Select(x => Eval(x, scope)).ToArray());
            case TupleExpr t:
                return Budget.NewList(t.Items.Select(x => Eval(x, scope)).ToArray(), tuple: true);
            case DictExpr d:
            {
                var entries = new OrderedDictionary<string, Value>();
                foreach (var (k, v) in d.Pairs)
                {
                    var key = Eval(k, scope);
                    if (key is not StringValue s) throw new JinjaException($"dict keys must be strings here, not {key.TypeName}", k.Position);
                    entries[s.Value] = Eval(v, scope);
                }
                Budget.Allocate(entries.Count);
                return new DictValue(entries);
            }
            case GetAttrExpr a:
                return GetAttribute(Eval(a.Target, scope), a.Name);
            case GetItemExpr g:
            {
                var target = Eval(g.Target, scope);
                if (g.Key is SliceExpr s)
                {
                    Value? Part(Expr? x) => x is null ? null : Eval(x, scope);
                    var (start, stop, step) = (Part(s.Start), Part(s.Stop), Part(s.Step));
                    return target is UndefinedValue ? target : Slices.Slice(target, start, stop, step, Budget);
                }
                return GetItem(target, Eval(g.Key, scope));
            }
            case CallExpr c:
            {
                var callee = Eval(c.Callee, scope);
                var args = EvalArgs(c.Args, scope);
                return Call(callee, args);
            }
            case FilterExpr f:
                return Filters.Apply(this, f.Name, Eval(f.Operand!, scope), EvalArgs(f.Args, scope));
            case TestExpr t:
                return BoolValue.Of(Predicates.Apply(this, t.Name, Eval(t.Operand, scope), EvalArgs(t.Args, scope)));
            case NotExpr n:
                return BoolValue.Of(!Operators.Truthy(Eval(n.Operand, scope)));
            case NegateExpr n:
                return Operators.Negate(Eval(n.Operand, scope), n.Minus);
            case BinaryExpr b:
                return Operators.Binary(b.Operator, Eval(b.Left, scope), Eval(b.Right, scope), Budget);
            case AndExpr a:
            {
                var left = Eval(a.Left, scope);
                return Operators.Truthy(left) ? Eval(a.Right, scope) : left;
            }
            case OrExpr o:
            {
                var left = Eval(o.Left, scope);
                return Operators.Truthy(left) ? left : Eval(o.Right, scope);
            }
            case ConcatExpr c:
            {
                var sb = new TextBuilder(Budget);
                foreach (var item in c.Items) sb.Append(PyRepr.Str(Eval(item, scope), Budget));
                return StringValue.Of(sb.Build());
            }
            case CompareExpr c:
            {
                var left = Eval(c.First, scope);
                foreach (var (op, operand) in c.Rest)
                {
                    var right = Eval(operand, scope);
                    if (!Compare(op, left, right)) return BoolValue.False;
                    left = right;
                }
                return BoolValue.True;
            }
            case CondExpr c:
                if (Operators.Truthy(Eval(c.Test, scope))) return Eval(c.Then, scope);
                return c.Otherwise is null ? new UndefinedValue("the conditional expression has no else branch") : Eval(c.Otherwise, scope);
            case SliceExpr:
                throw new JinjaException("a slice is only allowed inside []");
            case NamespaceRefExpr r:
                return GetAttribute(scope.Lookup(r.Name) ?? new UndefinedValue($"'{r.Name}' is undefined"), r.Attribute);
        }
        throw new JinjaException($"unknown expression {e.GetType().Name}");
    }

    private bool Compare(string op, Value a, Value b) => op switch
    {
        "==" => Operators.Equal(a, b, Budget),
        "!=" => !Operators.Equal(a, b, Budget),
        "in" => Operators.Contains(b, a, Budget),
        "notin" => !Operators.Contains(b, a, Budget),
        _ => Operators.Order(op, a, b, Budget),
    };

    public Arguments EvalArgs(CallArgs args, Scope scope)
    {
        if (args.Positional.Length == 0 && args.Keywords.Length == 0 && args.Star is null && args.DoubleStar is null) return Arguments.Empty;
        var positional = new List<Value>(args.Positional.Length);
        foreach (var p in args.Positional) positional.Add(Eval(p, scope));
        if (args.Star is not null)
        {
            var star = Eval(args.Star, scope);
            if (star is not (ListValue or StringValue or DictValue or UndefinedValue))
                throw new JinjaException($"argument after * must be an iterable, not {star.TypeName}", args.Star.Position);
            positional.AddRange(Operators.Iterate(star));
        }
        var keywords = new List<KeyValuePair<string, Value>>(args.Keywords.Length);
        foreach (var (name, value) in args.Keywords) keywords.Add(new(name, Eval(value, scope)));
        if (args.DoubleStar is not null)
        {
            var kw = Eval(args.DoubleStar, scope);
            if (kw is not DictValue d) throw new JinjaException($"argument after ** must be a mapping, not {kw.TypeName}", args.DoubleStar.Position);
            foreach (var (k, v) in d.Entries)
            {
                if (keywords.Any(x => x.Key == k)) throw new JinjaException($"got multiple values for keyword argument '{k}'", args.DoubleStar.Position);
                keywords.Add(new(k, v));
            }
        }
        return new Arguments(positional.ToArray(), keywords.ToArray());
    }

    public Value Call(Value callee, Arguments args) => callee switch
    {
        CallableValue c => c.Invoke(this, args),
        UndefinedValue u => throw new JinjaException(u.Hint),
        _ => throw new JinjaException($"'{callee.TypeName}' object is not callable"),
    };

    /// <summary>`obj.name`: an attribute (a method, a namespace or loop attribute) first, then an item.</summary>
    public Value GetAttribute(Value obj, string name)
    {
        switch (obj)
        {
            case UndefinedValue:
                return obj;
            case DictValue d:
                if (Methods.IsDictAttribute(name)) return Methods.Get(d, name)!;
                return d.Entries.TryGetValue(name, out var v) ? v : new UndefinedValue($"'dict object' has no attribute '{name}'");
            case NamespaceValue ns:
                return ns.Attributes.TryGetValue(name, out var a) ? a : new UndefinedValue($"'Namespace' object has no attribute '{name}'");
            case LoopValue loop:
                return loop.GetAttribute(name);
        }
        return Methods.Get(obj, name) ?? new UndefinedValue($"'{obj.TypeName} object' has no attribute '{name}'");
    }

    /// <summary>`obj[key]`: an item first, then (for a string key) an attribute.</summary>
    public Value GetItem(Value obj, Value key)
    {
        switch (obj)
        {
            case UndefinedValue:
                return obj;
            case DictValue d:
                if (key is StringValue k)
                    return d.Entries.TryGetValue(k.Value, out var v) ? v
                        : Methods.IsDictAttribute(k.Value) ? Methods.Get(d, k.Value)! : new UndefinedValue($"'dict object' has no attribute '{k.Value}'");
                if (key is ListValue { IsTuple: false } or DictValue) throw new JinjaException($"unhashable type: '{key.TypeName}'");
                return new UndefinedValue($"'dict object' has no element {PyRepr.Repr(key, Budget)}");
            case ListValue or StringValue when key is IntValue or BoolValue:
                return Slices.Item(obj, key is IntValue i ? i.Value : ((BoolValue)key).Value ? 1 : 0)
                       ?? new UndefinedValue($"'{obj.TypeName} object' has no element {PyRepr.Str(key, Budget)}");
        }
        if (key is StringValue name) return GetAttribute(obj, name.Value);
        return new UndefinedValue($"'{obj.TypeName} object' has no element {PyRepr.Repr(key, Budget)}");
    }

    /// <summary>Applies a filter chain whose innermost operand is null (a filter block or block set) to a value.</summary>
    private Value ApplyFilterChain(FilterExpr filter, Value body, Scope scope)
    {
        var operand = filter.Operand is FilterExpr inner ? ApplyFilterChain(inner, body, scope) : body;
        return Filters.Apply(this, filter.Name, operand, EvalArgs(filter.Args, scope));
    }

    /// <summary>Which of the special names varargs, kwargs and caller a macro body reads (then it accepts them).</summary>
    internal sealed record MacroUses(bool Varargs, bool Kwargs, bool Caller)
    {
        public static MacroUses Scan(Stmt[] body)
        {
            var names = new HashSet<string>();
            SyntaxWalker.CollectNames(body, names);
            return new MacroUses(names.Contains("varargs"), names.Contains("kwargs"), names.Contains("caller"));
        }
    }

    private MacroUses Uses(MacroStmt m) => _macroUses.GetValue(m, x => MacroUses.Scan(x.Body));

    private CallableValue MakeMacro(string name, MacroParam[] parameters, Stmt[] body, Scope definition, MacroUses uses)
        => new(name, (interp, args) =>
        {
            var budget = interp.Budget;
            budget.CallDepth++;
            try
            {
                budget.CheckDepth(budget.CallDepth, "macro calls");
                var scope = new Scope(definition);
                var keywords = new Dictionary<string, Value>(StringComparer.Ordinal);
                foreach (var (k, v) in args.Keywords) keywords[k] = v;
                if (keywords.Remove("caller", out var caller))
                {
                    if (!uses.Caller) throw new JinjaException($"macro '{name}' takes no keyword argument 'caller'");
                    scope.Set("caller", caller);
                }
                else if (uses.Caller) scope.Set("caller", new UndefinedValue("no caller defined"));
                var pending = new List<MacroParam>();
                for (int i = 0; i < parameters.Length; i++)
                {
                    var p = parameters[i];
                    Value? value = i < args.Positional.Length ? args.Positional[i] : null;
                    if (keywords.Remove(p.Name, out var kw))
                    {
                        if (value is not null) throw new JinjaException($"macro '{name}' got multiple values for argument '{p.Name}'");
                        value = kw;
                    }
                    if (value is null && p.Default is not null) pending.Add(p);
                    scope.Set(p.Name, value ?? new UndefinedValue($"parameter '{p.Name}' was not provided"));
                }
                if (args.Positional.Length > parameters.Length)
                {
                    if (!uses.Varargs) throw new JinjaException($"macro '{name}' takes not more than {parameters.Length} argument(s)");
                    scope.Set("varargs", new ListValue(args.Positional[parameters.Length..], true));
                }
                else if (uses.Varargs) scope.Set("varargs", new ListValue([], true));
                if (keywords.Count > 0 && !uses.Kwargs)
                    throw new JinjaException($"macro '{name}' takes no keyword argument '{keywords.Keys.First()}'");
                if (uses.Kwargs)
                {
                    var extra = new OrderedDictionary<string, Value>();
                    foreach (var (k, v) in args.Keywords)
                        if (keywords.ContainsKey(k)) extra[k] = v;
                    scope.Set("kwargs", new DictValue(extra));
                }
                foreach (var p in pending) scope.Set(p.Name, interp.Eval(p.Default!, scope));
                return StringValue.Of(interp.Capture(body, scope));
            }
            finally { budget.CallDepth--; }
        });
}
