namespace FrSpec.Speculative;

/// <summary>
/// A draft token tree in verification order: node 0 is the root (the last token the target produced), every parent
/// precedes its children, and siblings are in the order the verifier tries them (the drafter's preference).
/// Buffers are sized once and reused every round. A drafter may also record, for each node it expanded, the ranked
/// candidates it scored as that node's children (best first, pruned ones included): the automatic tree learns from
/// them at which rank the target's token sits (<see cref="AutoTree.AcceptanceStatistics"/>).
/// </summary>
public sealed class DraftTree
{
    /// <summary>Ranked candidates kept per expanded node (enough for every top-k the automatic tree considers).</summary>
    public const int MaxCandidates = 16;

    public int Count { get; private set; }
    public int[] Tokens { get; }
    /// <summary>Parent node index; -1 for the root.</summary>
    public int[] Parents { get; }
    /// <summary>Distance from the root (the position offset in the verification pass).</summary>
    public int[] Depths { get; }
    /// <summary>First child in sibling order, or -1.</summary>
    public int[] FirstChild { get; }
    /// <summary>Next sibling in sibling order, or -1.</summary>
    public int[] NextSibling { get; }
    private readonly int[] _lastChild;
    private readonly int[] _candidateCount, _candidates;

    public DraftTree(int capacity)
    {
        Tokens = new int[capacity]; Parents = new int[capacity]; Depths = new int[capacity];
        FirstChild = new int[capacity]; NextSibling = new int[capacity]; _lastChild = new int[capacity];
        _candidateCount = new int[capacity]; _candidates = new int[capacity * MaxCandidates];
    }

    /// <summary>Records the ranked child candidates the drafter scored for <paramref name="node"/> (at most <see cref="MaxCandidates"/> kept).</summary>
    public void SetCandidates(int node, ReadOnlySpan<int> tokens)
    {
        if ((uint)node >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(node));
        int n = Math.Min(tokens.Length, MaxCandidates);
        tokens[..n].CopyTo(_candidates.AsSpan(node * MaxCandidates, n));
        _candidateCount[node] = n;
    }

    /// <summary>The ranked child candidates recorded for a node (empty when the drafter did not expand it or records none).</summary>
    public ReadOnlySpan<int> Candidates(int node) => _candidates.AsSpan(node * MaxCandidates, _candidateCount[node]);

    public int Capacity => Tokens.Length;

    /// <summary>Starts a new tree with just the root.</summary>
    public void Reset(int rootToken)
    {
        Count = 0;
        Add(rootToken, -1);
    }

    /// <summary>Appends a node under an existing one (or the root, -1 only for the first node); returns its index.</summary>
    public int Add(int token, int parent)
    {
        int i = Count;
        if (i >= Capacity) throw new InvalidOperationException($"draft tree is full ({Capacity} nodes)");
        if (parent >= i || (parent < 0 && i != 0)) throw new ArgumentException($"parent {parent} of node {i} must be an earlier node");
        Tokens[i] = token; Parents[i] = parent; Depths[i] = parent < 0 ? 0 : Depths[parent] + 1;
        FirstChild[i] = -1; NextSibling[i] = -1; _lastChild[i] = -1; _candidateCount[i] = 0;
        if (parent >= 0)
        {
            if (_lastChild[parent] < 0) FirstChild[parent] = i; else NextSibling[_lastChild[parent]] = i;
            _lastChild[parent] = i;
        }
        Count = i + 1;
        return i;
    }

    public int MaxDepth
    {
        get { int d = 0; for (int i = 0; i < Count; i++) d = Math.Max(d, Depths[i]); return d; }
    }
}
