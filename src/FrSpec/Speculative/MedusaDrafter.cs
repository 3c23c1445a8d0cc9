using System.Diagnostics;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Speculative;

/// <summary>
/// Medusa drafting: the target's final-norm hidden state of the last accepted token (from the verification pass that
/// accepted it, so no draft pass runs) goes through each head; head d's top tokens fill depth d + 1 of the static tree,
/// node (c₁..c_d) taking the c_d-th best token of head d − 1 (docs/formats.md, "Medusa tree"). Each head's LM head is
/// its own, or its FR-Spec cut (the rows of a frequency subset, as the FR-Spec paper applies to Medusa).
/// Buffers are allocated once.
/// </summary>
internal sealed class MedusaDrafter : IDrafter
{
    private readonly MedusaHeads _heads;
    private readonly LmHead[] _lmHeads;
    private readonly MedusaTree _tree;
    private readonly Compute _compute;
    private readonly int _hidden;
    private readonly float[] _last, _x, _scratch, _logits;
    private readonly int[][] _top;
    private readonly float[] _topVal;
    private readonly int[] _nodes;
    private long _layerTicks, _headTicks;

    /// <summary>Drafts with <paramref name="heads"/> into <paramref name="tree"/>'s shape; <paramref name="lmHeads"/> holds one LM
    /// head per head the tree uses (its own, the target's, or an FR-Spec cut of either).</summary>
    public MedusaDrafter(MedusaHeads heads, IReadOnlyList<LmHead> lmHeads, MedusaTree tree, Compute compute)
    {
        if (tree.Depth > heads.Count)
            throw new FrSpecException($"the Medusa tree {tree.Name} is {tree.Depth} deep but {heads.Source} has {heads.Count} heads");
        if (lmHeads.Count < tree.Depth) throw new ArgumentException("one LM head per tree depth");
        _heads = heads; _tree = tree; _compute = compute; _hidden = heads.HiddenSize;
        _lmHeads = lmHeads.Take(tree.Depth).ToArray();
        for (int d = 0; d < tree.Depth; d++)
            if (tree.TopKPerHead[d] > _lmHeads[d].Size)
                throw new FrSpecException($"the Medusa tree {tree.Name} uses rank {tree.TopKPerHead[d] - 1} at depth {d + 1} but the draft vocabulary has {_lmHeads[d].Size} tokens");
        _last = new float[_hidden]; _x = new float[_hidden]; _scratch = new float[_hidden];
        _logits = new float[_lmHeads.Max(h => h.Size)];
        _top = tree.TopKPerHead.Select(k => new int[k]).ToArray();
        _topVal = new float[tree.TopKPerHead.Max()];
        _nodes = new int[tree.Paths.Count];
    }

    public DraftFeatures Features => DraftFeatures.FinalHidden(_hidden);
    public int MaxTreeTokens => _tree.Paths.Count + 1;
    public (double Layers, double Head) Time => (_layerTicks / (double)Stopwatch.Frequency, _headTicks / (double)Stopwatch.Frequency);

    public void Begin(ReadOnlySpan<int> prompt, int maxSequenceLength) => _layerTicks = _headTicks = 0;

    /// <summary>Only the newest feature matters: the heads predict from the last accepted token's hidden state.</summary>
    public void Extend(ReadOnlySpan<float> features, ReadOnlySpan<int> nextTokens) => features[^_hidden..].CopyTo(_last);

    public void Draft(int rootToken, DraftTree tree)
    {
        for (int d = 0; d < _tree.Depth; d++)
        {
            long t0 = Stopwatch.GetTimestamp();
            _heads.Transform(_compute, d, _last, _x, _scratch);
            long t1 = Stopwatch.GetTimestamp();
            var head = _lmHeads[d];
            var logits = _logits.AsSpan(0, head.Size);
            head.Compute(_x, 1, logits);
            var top = _top[d];
            TopSelector.Select(logits, top.Length, top, _topVal);
            for (int i = 0; i < top.Length; i++) top[i] = head.TokenId(top[i]);
            _layerTicks += t1 - t0;
            _headTicks += Stopwatch.GetTimestamp() - t1;
        }
        tree.Reset(rootToken);
        var paths = _tree.Paths;
        int count = Math.Min(paths.Count, tree.Capacity - 1);
        for (int i = 0; i < count; i++)
        {
            var p = paths[i];
            int parent = _tree.Parents[i];
            _nodes[i] = tree.Add(_top[p.Length - 1][p[^1]], parent < 0 ? 0 : _nodes[parent]);
        }
    }
}
