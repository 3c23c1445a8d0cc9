namespace FrSpec.Text.Jinja;

/// <summary>
/// Variables of one scope, looked up through the enclosing scopes. As in Jinja2: the render's globals and variables
/// at the root, then the template's top level; every for-loop iteration, macro call, block set and with block has its
/// own scope, so `set` inside them does not leak out (which is why templates use namespace()).
/// </summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Scope? _parent = parent;
    private readonly Dictionary<string, Value> _vars = new(StringComparer.Ordinal);

    public Value? Lookup(string name)
    {
        for (var s = this; s is not null; s = s._parent)
            if (s._vars.TryGetValue(name, out var v)) return v;
        return null;
    }

    public void Set(string name, Value value) => _vars[name] = value;
}
