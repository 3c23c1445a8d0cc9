using System.Diagnostics;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Speculative;

/// <summary>
/// EAGLE-2 drafting (docs/formats.md, "Draft forward" and "EAGLE-2 tree"): a stable draft KV cache that follows the
/// accepted sequence, and per round a dynamic tree grown by expanding the k best frontier nodes D times, then
/// reranked by cumulative log-probability. The network is an EAGLE-1/2 or EAGLE-3 head or a draft model
/// (<see cref="IDraftNetwork"/>); a chain is the tree with k = 1.
/// The draft LM head is the full head or a row subset of it (FR-Spec): log-softmax and top-k run in subset space and
/// indices map back to token ids. A drafter may hold several variants of one network that differ only in their draft
/// LM head, and switch between them, and between tree shapes within <see cref="Bounds"/>, from one round to the next:
/// the stable cache depends only on the network's layers, never on the LM head. <see cref="DraftLimits"/> add
/// llama.cpp's cut-offs (a child below a probability is not drafted; a tree with too few drafted tokens is dropped).
/// All buffers are allocated once, for the bounds.
/// </summary>
internal sealed class EagleDrafter : ITunableDrafter
{
    private const int Chunk = 128; // pairs per stable-pass forward (bounds scratch memory)

    private readonly IDraftNetwork[] _variants;
    private readonly ForwardState _state;
    private readonly DraftLimits _limits;
    private readonly float _minLogProb;
    private readonly int[] _variantSizes;
    private readonly int _hidden, _featureWidth, _maxK;
    private IDraftNetwork _network;
    private KvCache _cache;
    private int _depth, _topK, _totalTokens; // the tree in use (within Bounds); ints, so switching allocates nothing
    private LmHead _draftHead;
    private int _k;

    // candidates of the current round, in global order: group 0 (root's children), then one group of k² per step
    private readonly float[] _score;
    private readonly int[] _token, _parent, _slot, _node, _expanded;
    // the frontier being expanded: candidate ids and their input features (the parents' draft outputs)
    private readonly int[] _frontier, _nextFrontier, _tokens, _positions;
    private float[] _frontierFeat, _nextFeat;
    private readonly float[] _rootFeature, _logits;
    private readonly int[] _topIdx, _chosen;
    private readonly float[] _topVal, _chosenVal;
    private readonly DraftRowScores _rowScores;
    // ranked child candidates of every node expanded this round (root, then each frontier row), for acceptance statistics
    private readonly int[] _ranked, _rankedCount;
    private readonly AttentionMask _mask = new(0, 0, 0);
    private long _layerTicks, _headTicks;

    /// <summary>One fixed tree over one draft network.</summary>
    public EagleDrafter(IDraftNetwork network, TreeOptions options, int capacity, DraftLimits? limits = null)
        : this([network], options, capacity, limits) { }

    /// <summary>
    /// A drafter that can switch between <paramref name="variants"/> (one network with different draft LM heads, so one
    /// state and one cache serve them all) and any tree within <paramref name="bounds"/>; it starts with variant 0 and
    /// the bounds themselves.
    /// </summary>
    public EagleDrafter(IReadOnlyList<IDraftNetwork> variants, TreeOptions bounds, int capacity, DraftLimits? limits = null)
    {
        bounds.Validate();
        if (variants.Count == 0) throw new ArgumentException("at least one draft network is needed");
        _limits = limits ?? DraftLimits.None;
        _limits.Validate();
        _minLogProb = _limits.MinProbability > 0 ? MathF.Log(_limits.MinProbability) : float.NegativeInfinity;
        _variants = [.. variants]; Bounds = bounds;
        _network = _variants[0];
        _variantSizes = [.. _variants.Select(d => d.DraftHead.Size)];
        _state = _network.CreateState();
        _hidden = _network.HiddenSize;
        _featureWidth = _network.Features.Width;
        _maxK = Math.Min(bounds.TopK, _variantSizes.Max());
        _cache = _network.CreateCache(capacity);
        int candidates = _maxK + bounds.Depth * _maxK * _maxK;
        _score = new float[candidates]; _token = new int[candidates]; _parent = new int[candidates];
        _slot = new int[candidates]; _node = new int[candidates]; _expanded = new int[candidates];
        _frontier = new int[_maxK]; _nextFrontier = new int[_maxK]; _tokens = new int[_maxK]; _positions = new int[Math.Max(_maxK, Chunk)];
        _frontierFeat = new float[_maxK * _hidden]; _nextFeat = new float[_maxK * _hidden];
        _rootFeature = new float[_hidden];
        _logits = new float[_maxK * _variantSizes.Max()];
        int sel = Math.Max(_maxK * _maxK, 1);
        _topIdx = new int[sel]; _topVal = new float[sel];
        _rowScores = new DraftRowScores(_maxK, Math.Max(_maxK, DraftTree.MaxCandidates));
        _chosen = new int[Math.Max(bounds.TotalTokens, 1)]; _chosenVal = new float[Math.Max(bounds.TotalTokens, 1)];
        int expandable = 1 + bounds.Depth * _maxK;
        _ranked = new int[expandable * DraftTree.MaxCandidates]; _rankedCount = new int[expandable];
        (_depth, _topK, _totalTokens) = (bounds.Depth, bounds.TopK, bounds.TotalTokens);
        _draftHead = _network.DraftHead;
        _k = Math.Min(bounds.TopK, _draftHead.Size);
    }

    public DraftFeatures Features => _network.Features;

    public int MaxTreeTokens => Bounds.TotalTokens;

    /// <inheritdoc/>
    public TreeOptions Bounds { get; }

    /// <inheritdoc/>
    public IReadOnlyList<int> VariantSizes => _variantSizes;

    public (double Layers, double Head) Time => (_layerTicks / (double)Stopwatch.Frequency, _headTicks / (double)Stopwatch.Frequency);

    /// <summary>Stable draft positions so far (= target tokens whose successor the draft has consumed).</summary>
    public int StableLength => _cache.Count;

    /// <inheritdoc/>
    public void Configure(int depth, int topK, int totalTokens, int variant)
    {
        if (depth > Bounds.Depth || topK > Bounds.TopK || totalTokens > Bounds.TotalTokens || depth < 0 || topK < 1 || totalTokens < 1)
            throw new ArgumentOutOfRangeException(nameof(depth), $"tree depth {depth}, top-k {topK}, {totalTokens} tokens is outside the drafter's bounds {Bounds}");
        if ((uint)variant >= (uint)_variants.Length) throw new ArgumentOutOfRangeException(nameof(variant));
        (_depth, _topK, _totalTokens) = (depth, topK, totalTokens);
        _network = _variants[variant];
        _draftHead = _network.DraftHead;
        _k = Math.Min(topK, _draftHead.Size);
    }

    public void Begin(ReadOnlySpan<int> prompt, int maxSequenceLength)
    {
        // The stable cache follows the sequence; one round's frontier passes (depth × k slots) sit on top of it.
        int need = Math.Max(maxSequenceLength, prompt.Length + 1) + Bounds.Depth * _maxK + 2;
        if (_cache.Capacity < need) _cache = _network.CreateCache(need);
        _cache.Clear();
        _layerTicks = _headTicks = 0;
        long t0 = Stopwatch.GetTimestamp();
        _network.Begin(_state, _cache, prompt);
        _layerTicks += Stopwatch.GetTimestamp() - t0;
    }

    public void Extend(ReadOnlySpan<float> features, ReadOnlySpan<int> nextTokens)
    {
        int n = nextTokens.Length;
        for (int start = 0; start < n; start += Chunk)
        {
            int m = Math.Min(Chunk, n - start);
            for (int i = 0; i < m; i++) _positions[i] = _cache.Count + i;
            long t0 = Stopwatch.GetTimestamp();
            var output = _network.Forward(_state, _cache, nextTokens.Slice(start, m), features.Slice(start * _featureWidth, m * _featureWidth),
                _positions.AsSpan(0, m), null, fromTarget: true);
            _cache.CommitAll();
            output.Slice((m - 1) * _hidden, _hidden).CopyTo(_rootFeature);
            _layerTicks += Stopwatch.GetTimestamp() - t0;
        }
    }

    public void Draft(int rootToken, DraftTree tree)
    {
        int k = _k, h = _hidden, depth = _depth;
        int stable = _cache.Count;
        if (stable == 0) throw new InvalidOperationException("Draft before Extend");

        // Group 0: the root's children, scored by the draft's log-probabilities after the last stable position.
        HeadLogits(_network.HeadInput(_state, _rootFeature, 1), 1);
        TopChildren(0, -1, 0f, 0, 0);
        int groupEnd = k, expandedSlots = 1;
        for (int r = 0; r < k; r++) { _frontier[r] = r; _rootFeature.CopyTo(_frontierFeat.AsSpan(r * h, h)); }
        if (float.IsNegativeInfinity(_score[0])) depth = 0; // even the best child is below the probability cut-off

        for (int step = 0; step < depth; step++)
        {
            // Feed the frontier: each node sees the stable prefix, its fed ancestors and itself, one position deeper.
            long t0 = Stopwatch.GetTimestamp();
            int cached = _cache.Length;
            _mask.Reset(cached, k, stable);
            for (int r = 0; r < k; r++)
            {
                int g = _frontier[r];
                _tokens[r] = _token[g];
                _positions[r] = stable + step;
                for (int a = _parent[g]; a >= 0; a = _parent[a]) _mask.Allow(r, _slot[a]);
                _mask.Allow(r, cached + r);
                _slot[g] = cached + r;
            }
            var output = _network.Forward(_state, _cache, _tokens.AsSpan(0, k), _frontierFeat.AsSpan(0, k * h), _positions.AsSpan(0, k), _mask, fromTarget: false);
            _layerTicks += Stopwatch.GetTimestamp() - t0;

            // Children of every frontier node: group step+1, child c of frontier row r at offset r·k + c.
            int groupStart = groupEnd;
            HeadLogits(_network.HeadInput(_state, output, k), k);
            for (int r = 0; r < k; r++)
            {
                _expanded[_frontier[r]] = expandedSlots;
                TopChildren(r, _frontier[r], _score[_frontier[r]], groupStart + r * k, expandedSlots++);
            }
            groupEnd = groupStart + k * k;
            if (step == depth - 1) break; // the last group is never fed

            // New frontier: the k best of the k² children by cumulative score; their feature is their parent's output.
            int n = TopSelector.Select(_score.AsSpan(groupStart, k * k), k, _topIdx, _topVal);
            for (int r = 0; r < n; r++)
            {
                int local = _topIdx[r];
                _nextFrontier[r] = groupStart + local;
                output.Slice(local / k * h, h).CopyTo(_nextFeat.AsSpan(r * h, h));
            }
            _nextFrontier.AsSpan(0, k).CopyTo(_frontier);
            (_frontierFeat, _nextFeat) = (_nextFeat, _frontierFeat);
            if (float.IsNegativeInfinity(_topVal[0])) break; // every frontier node fell below the probability cut-off
        }
        _cache.Rollback(); // tree entries are rebuilt every round

        // Rerank: the T−1 best candidates over all groups, then in global order (parents before children).
        int chosen = TopSelector.Select(_score.AsSpan(0, groupEnd), Math.Min(_totalTokens - 1, tree.Capacity - 1), _chosen, _chosenVal);
        while (chosen > 0 && float.IsNegativeInfinity(_chosenVal[chosen - 1])) chosen--; // cut off: never drafted
        if (chosen < _limits.MinDraftTokens) chosen = 0; // too short a draft is not worth verifying (llama.cpp's --draft-min)
        _chosen.AsSpan(0, chosen).Sort();
        tree.Reset(rootToken);
        tree.SetCandidates(0, _ranked.AsSpan(0, _rankedCount[0]));
        for (int i = 0; i < chosen; i++)
        {
            int g = _chosen[i], p = _parent[g];
            int parentNode = p < 0 ? 0 : _node[p];
            if (parentNode < 0)
                throw new InvalidOperationException($"draft tree candidate {g} was chosen without its parent {p}");
            int node = _node[g] = tree.Add(_token[g], parentNode);
            if (_expanded[g] > 0)
                tree.SetCandidates(node, _ranked.AsSpan(_expanded[g] * DraftTree.MaxCandidates, _rankedCount[_expanded[g]]));
        }
    }

    /// <inheritdoc/>
    public (double Layer, double Head) TimeStep(int variant, int rows)
    {
        if (_cache.Count == 0) throw new InvalidOperationException("TimeStep before Extend");
        if (rows < 1 || rows > _maxK) throw new ArgumentOutOfRangeException(nameof(rows));
        var (topK, previous) = (_topK, Array.IndexOf(_variants, _network));
        Configure(_depth, Math.Min(Bounds.TopK, Math.Max(rows, 1)), _totalTokens, variant);
        int stable = _cache.Count, h = _hidden;
        for (int r = 0; r < rows; r++) { _tokens[r] = r; _positions[r] = stable; _rootFeature.CopyTo(_frontierFeat.AsSpan(r * h, h)); }
        _mask.Reset(stable, rows, stable);
        for (int r = 0; r < rows; r++) _mask.Allow(r, stable + r);
        long t0 = Stopwatch.GetTimestamp();
        var output = _network.Forward(_state, _cache, _tokens.AsSpan(0, rows), _frontierFeat.AsSpan(0, rows * h), _positions.AsSpan(0, rows), _mask, fromTarget: false);
        long t1 = Stopwatch.GetTimestamp();
        _draftHead.Compute(_network.HeadInput(_state, output, rows), rows, _logits);
        _rowScores.Score(_draftHead.Pool, _logits, _draftHead.Size, rows);
        int k = Math.Min(_k, rows);
        for (int r = 0; r < rows; r++) TopChildren(r, -1, 0f, 0, 0, Math.Min(k, _score.Length));
        long t2 = Stopwatch.GetTimestamp();
        _cache.Rollback();
        Configure(_depth, topK, _totalTokens, previous);
        return ((t1 - t0) / (double)Stopwatch.Frequency, (t2 - t1) / (double)Stopwatch.Frequency);
    }

    /// <summary>Draft logits for n hidden rows in one pass over the head (each weight row is read once), then each
    /// row's top candidates and log-sum-exp.</summary>
    private void HeadLogits(ReadOnlySpan<float> hidden, int n)
    {
        long t0 = Stopwatch.GetTimestamp();
        _draftHead.Compute(hidden, n, _logits);
        _rowScores.Score(_draftHead.Pool, _logits, _draftHead.Size, n);
        _headTicks += Stopwatch.GetTimestamp() - t0;
    }

    /// <summary>
    /// The k best tokens of scored row <paramref name="row"/> (<see cref="HeadLogits"/>) as candidates at <paramref name="dest"/>, scored by the
    /// parent's score plus their log-softmax over the draft vocabulary (the subset for FR-Spec); the row's ranked list
    /// (k or more tokens) is kept as expanded slot <paramref name="expandedSlot"/>.
    /// </summary>
    private void TopChildren(int row, int parent, float parentScore, int dest, int expandedSlot, int count = -1)
    {
        long t0 = Stopwatch.GetTimestamp();
        int k = count < 0 ? _k : count;
        var scores = _rowScores;
        int n = scores.Count(row);
        int kept = Math.Min(n, DraftTree.MaxCandidates);
        var ranked = _ranked.AsSpan(expandedSlot * DraftTree.MaxCandidates, kept);
        for (int c = 0; c < kept; c++) ranked[c] = _draftHead.TokenId(scores.Index(row, c));
        _rankedCount[expandedSlot] = kept;
        float lse = scores.LogSumExp(row);
        for (int c = 0; c < k; c++)
        {
            int g = dest + c;
            if (c < n)
            {
                _token[g] = c < kept ? ranked[c] : _draftHead.TokenId(scores.Index(row, c));
                // lp ≤ 0 keeps scores non-increasing along a path, so the reranked set always holds each node's parent
                float lp = Math.Min(0f, scores.Logit(row, c) - lse);
                _score[g] = lp < _minLogProb ? float.NegativeInfinity : parentScore + lp;
            }
            else { _token[g] = 0; _score[g] = float.NegativeInfinity; }
            _parent[g] = parent;
            _slot[g] = -1;
            _node[g] = -1;
            _expanded[g] = 0;
        }
        _headTicks += Stopwatch.GetTimestamp() - t0;
    }
}
