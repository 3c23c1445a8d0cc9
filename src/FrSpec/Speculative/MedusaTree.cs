using System.Text.Json;

namespace FrSpec.Speculative;

/// <summary>
/// Medusa's static tree (docs/formats.md, "Medusa tree"): a list of paths (c₁, …, c_d), each node taking the c_d-th
/// best token of head d − 1 whatever its ancestors drafted. Nodes are ordered as Medusa's generate_medusa_buffers orders
/// them — by depth, then lexicographically — which puts parents first and siblings by rank, the order the verifier
/// tries them in. Every prefix of a path must itself be a path.
/// </summary>
public sealed class MedusaTree
{
    /// <summary>Most nodes (root excluded) and highest rank a tree may use.</summary>
    public const int MaxNodes = 1023, MaxRank = 64;

    /// <summary>The nodes' paths in tree order.</summary>
    public IReadOnlyList<int[]> Paths { get; }
    /// <summary>Parent of node i (−1: the root), nodes numbered from 0 in <see cref="Paths"/> order.</summary>
    internal int[] Parents { get; }
    /// <summary>Deepest path: the heads the tree uses.</summary>
    public int Depth { get; }
    /// <summary>Tokens needed from head d: one more than the highest rank used at depth d + 1.</summary>
    internal int[] TopKPerHead { get; }
    /// <summary>Where the tree came from ("mc_sim_7b_63" or a file), for reports.</summary>
    public string Name { get; }

    private readonly IReadOnlyList<int[]> _source; // the paths in their given order (for Prefix)

    private MedusaTree(IReadOnlyList<int[]> paths, string name)
    {
        Name = name;
        _source = paths;
        if (paths.Count == 0) throw new FrSpecException($"{name}: the Medusa tree has no paths");
        if (paths.Count > MaxNodes) throw new FrSpecException($"{name}: {paths.Count} paths; at most {MaxNodes} are supported");
        var sorted = paths.ToList();
        sorted.Sort(ComparePaths);
        var index = new Dictionary<string, int>();
        for (int i = 0; i < sorted.Count; i++)
        {
            var p = sorted[i];
            if (p.Length == 0) throw new FrSpecException($"{name}: an empty path");
            foreach (int c in p)
                if (c < 0 || c >= MaxRank) throw new FrSpecException($"{name}: rank {c} in path [{string.Join(", ", p)}] must be in [0, {MaxRank})");
            if (!index.TryAdd(Key(p), i)) throw new FrSpecException($"{name}: path [{string.Join(", ", p)}] appears twice");
        }
        Parents = new int[sorted.Count];
        for (int i = 0; i < sorted.Count; i++)
        {
            var p = sorted[i];
            if (p.Length == 1) { Parents[i] = -1; continue; }
            if (!index.TryGetValue(Key(p[..^1]), out int parent))
                throw new FrSpecException($"{name}: path [{string.Join(", ", p)}] has no parent path [{string.Join(", ", p[..^1])}]");
            Parents[i] = parent;
        }
        Paths = sorted;
        Depth = sorted.Max(p => p.Length);
        TopKPerHead = new int[Depth];
        foreach (var p in sorted) TopKPerHead[p.Length - 1] = Math.Max(TopKPerHead[p.Length - 1], p[^1] + 1);
    }

    private static string Key(int[] p) => string.Join(",", p);

    private static int ComparePaths(int[] a, int[] b)
    {
        if (a.Length != b.Length) return a.Length.CompareTo(b.Length);
        for (int i = 0; i < a.Length; i++) if (a[i] != b[i]) return a[i].CompareTo(b[i]);
        return 0;
    }

    /// <summary>A tree of explicit paths.</summary>
    public static MedusaTree FromPaths(IReadOnlyList<int[]> paths, string name = "medusa_choices") => new(paths, name);

    /// <summary>
    /// The first <paramref name="nodes"/> paths of this tree's source list (a smaller tree of the same shape family:
    /// Medusa's lists grow one node at a time with each parent before its children, so any prefix is a tree).
    /// </summary>
    public MedusaTree Prefix(int nodes) => nodes >= _source.Count ? this : new MedusaTree(_source.Take(Math.Max(1, nodes)).ToList(), $"{Name}[:{nodes}]");

    /// <summary>
    /// Reads a medusa_choices JSON file: a list of paths ([[0], [0, 0], [1], ...]), or an object holding one under
    /// "medusa_choices".
    /// </summary>
    public static MedusaTree Load(string file)
    {
        if (!File.Exists(file)) throw new FrSpecException($"{file}: Medusa choices file not found");
        if (new FileInfo(file).Length > 1 << 20) throw new FrSpecException($"{file}: a Medusa choices file larger than 1 MB");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(file)); }
        catch (JsonException e) { throw new FrSpecException($"{file}: invalid JSON: {e.Message}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("medusa_choices", out var inner)) root = inner;
            if (root.ValueKind != JsonValueKind.Array) throw new FrSpecException($"{file}: expected a list of paths like [[0], [0, 0], [1]]");
            var paths = new List<int[]>();
            foreach (var p in root.EnumerateArray())
            {
                if (p.ValueKind != JsonValueKind.Array || paths.Count > MaxNodes) throw new FrSpecException($"{file}: path {paths.Count} is not a list of ranks (or there are more than {MaxNodes})");
                var path = new List<int>();
                foreach (var c in p.EnumerateArray())
                {
                    if (!c.TryGetInt32(out int r)) throw new FrSpecException($"{file}: path {paths.Count} holds {c}, not an integer rank");
                    path.Add(r);
                }
                paths.Add(path.ToArray());
            }
            return new MedusaTree(paths, Path.GetFileName(file));
        }
    }

    /// <summary>
    /// Medusa's default tree for 7B models with 4 heads, mc_sim_7b_63 (63 nodes, depth 4; Medusa's medusa_choices.py,
    /// also FR-Spec's default), in its list order.
    /// </summary>
    public static MedusaTree McSim7b63 { get; } = new(ParseList(
        "0;0,0;1;0,1;2;0,0,0;1,0;0,2;3;0,3;4;0,4;2,0;0,5;0,0,1;5;0,6;6;0,7;0,1,0;1,1;7;0,8;0,0,2;3,0;0,9;8;9;1,0,0;0,2,0;1,2;0,0,3;" +
        "4,0;2,1;0,0,4;0,0,5;0,0,0,0;0,1,1;0,0,6;0,3,0;5,0;1,3;0,0,7;0,0,8;0,0,9;6,0;0,4,0;1,4;7,0;0,1,2;2,0,0;3,1;2,2;8,0;" +
        "0,5,0;1,5;1,0,1;0,2,1;9,0;0,6,0;0,0,0,1;1,6;0,7,0"), "mc_sim_7b_63");

    private static List<int[]> ParseList(string text) => text.Split(';').Select(p => p.Split(',').Select(int.Parse).ToArray()).ToList();
}
