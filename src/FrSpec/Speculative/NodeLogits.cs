using FrSpec.Model;

namespace FrSpec.Speculative;

/// <summary>
/// The target's logits for the nodes of a verified tree, computed on demand. Full-vocabulary logits for every
/// node would cost T rows of the LM head, while acceptance only visits one path: on a CPU the head's matrix
/// product is compute-bound beyond a few rows, so computing all T rows costs several single-row passes. The draft's
/// most likely path (root and first children) is computed up front in one batched pass; any other node visited
/// costs one more row.
/// </summary>
internal sealed class NodeLogits
{
    private readonly LmHead _head;
    private readonly int _vocab, _hidden;
    /// <summary>Logits of the nodes computed this round, one row each in the order they were computed; the head writes
    /// into them directly (no staging copy), so a session holds one tree's worth of logits, not two.</summary>
    private readonly float[] _logits;
    private readonly float[] _rows;
    /// <summary>Row of each node in <see cref="_logits"/>, −1 while it is not computed.</summary>
    private readonly int[] _slot;
    private readonly int[] _chain;
    private int _used;
    private float[] _features = [];
    /// <summary>LM-head rows computed this round (for reports and tests).</summary>
    public int RowsComputed { get; private set; }

    public NodeLogits(LmHead head, int hidden, int maxNodes)
    {
        _head = head; _vocab = head.Size; _hidden = hidden;
        _logits = new float[(long)maxNodes * _vocab <= Array.MaxLength ? maxNodes * _vocab : throw new FrSpecException($"{maxNodes} tree tokens × vocabulary {_vocab} logits are too many")];
        _rows = new float[maxNodes * hidden];
        _slot = new int[maxNodes];
        _chain = new int[maxNodes];
    }

    /// <summary>New round: <paramref name="features"/> holds the target's final hidden state of every node [count, hidden].</summary>
    public void Begin(DraftTree tree, float[] features)
    {
        _features = features;
        _slot.AsSpan(0, tree.Count).Fill(-1);
        _used = 0;
        RowsComputed = 0;
        int n = 0;
        for (int node = 0; node >= 0; node = tree.FirstChild[node]) _chain[n++] = node;
        Compute(_chain.AsSpan(0, n));
    }

    /// <summary>Logits of one node (computed now if it was not).</summary>
    public ReadOnlySpan<float> Row(int node)
    {
        if (_slot[node] < 0) Compute([node]);
        return _logits.AsSpan(_slot[node] * _vocab, _vocab);
    }

    private void Compute(ReadOnlySpan<int> nodes)
    {
        int n = nodes.Length, h = _hidden, v = _vocab;
        for (int i = 0; i < n; i++) _features.AsSpan(nodes[i] * h, h).CopyTo(_rows.AsSpan(i * h, h));
        // each node is computed at most once a round, so the rows in use never exceed the tree's nodes
        _head.Compute(_rows.AsSpan(0, n * h), n, _logits.AsSpan(_used * v, n * v));
        for (int i = 0; i < n; i++) _slot[nodes[i]] = _used + i;
        _used += n;
        RowsComputed += n;
    }
}
