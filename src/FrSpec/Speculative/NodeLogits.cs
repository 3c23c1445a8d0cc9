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
    private readonly float[] _logits, _rows, _batch;
    private readonly bool[] _ready;
    private readonly int[] _chain;
    private float[] _features = [];
    /// <summary>LM-head rows computed this round (for reports and tests).</summary>
    public int RowsComputed { get; private set; }

    public NodeLogits(LmHead head, int hidden, int maxNodes)
    {
        _head = head; _vocab = head.Size; _hidden = hidden;
        _logits = new float[(long)maxNodes * _vocab <= Array.MaxLength ? maxNodes * _vocab : throw new FrSpecException($"{maxNodes} tree tokens × vocabulary {_vocab} logits are too many")];
        _rows = new float[maxNodes * hidden];
        _batch = new float[maxNodes * _vocab];
        _ready = new bool[maxNodes];
        _chain = new int[maxNodes];
    }

    /// <summary>New round: <paramref name="features"/> holds the target's final hidden state of every node [count, hidden].</summary>
    public void Begin(DraftTree tree, float[] features)
    {
        _features = features;
        Array.Clear(_ready, 0, tree.Count);
        RowsComputed = 0;
        int n = 0;
        for (int node = 0; node >= 0; node = tree.FirstChild[node]) _chain[n++] = node;
        Compute(_chain.AsSpan(0, n));
    }

    /// <summary>Logits of one node (computed now if it was not).</summary>
    public ReadOnlySpan<float> Row(int node)
    {
        if (!_ready[node]) Compute([node]);
        return _logits.AsSpan(node * _vocab, _vocab);
    }

    private void Compute(ReadOnlySpan<int> nodes)
    {
        int n = nodes.Length, h = _hidden, v = _vocab;
        for (int i = 0; i < n; i++) _features.AsSpan(nodes[i] * h, h).CopyTo(_rows.AsSpan(i * h, h));
        _head.Compute(_rows.AsSpan(0, n * h), n, _batch);
        for (int i = 0; i < n; i++)
        {
            _batch.AsSpan(i * v, v).CopyTo(_logits.AsSpan(nodes[i] * v, v));
            _ready[nodes[i]] = true;
        }
        RowsComputed += n;
    }
}
