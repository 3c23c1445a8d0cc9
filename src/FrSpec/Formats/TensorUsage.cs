using FrSpec.Numerics;

namespace FrSpec.Formats;

/// <summary>
/// Records which tensors of a source a loader reads, so that a checkpoint holding tensors the model never uses is an
/// error naming them (a wrong architecture or a config that disagrees with its weights would otherwise run silently
/// with parts missing). Buffers that checkpoints carry but that are recomputed, and bundled copies a loader ignores by
/// design, are allowed by name suffix (docs/formats.md, "Tensors a loader ignores").
/// </summary>
internal sealed class TensorUsage(ITensorSource source) : ITensorSource
{
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public IEnumerable<string> Names => source.Names;
    public bool Contains(string name) => source.Contains(name);

    public WeightMatrix Matrix(string name, int rows, int cols)
    {
        var m = source.Matrix(name, rows, cols);
        _read.Add(name);
        return m;
    }

    public float[] Vector(string name, int length)
    {
        var v = source.Vector(name, length);
        _read.Add(name);
        return v;
    }

    /// <summary>Throws naming every tensor that was neither read nor matched by one of <paramref name="allowedSuffixes"/>.</summary>
    public void RejectUnused(string where, IReadOnlyList<string> allowedSuffixes)
    {
        var unused = source.Names.Where(n => !_read.Contains(n) && !allowedSuffixes.Any(s => n.EndsWith(s, StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal).ToList();
        if (unused.Count == 0) return;
        string list = string.Join(", ", unused.Take(8).Select(n => $"'{n}'")) + (unused.Count > 8 ? $" and {unused.Count - 8} more" : "");
        throw new FrSpecException($"{where}: {unused.Count} tensor(s) that this model does not use: {list} (does config.json match the weights?)");
    }
}
