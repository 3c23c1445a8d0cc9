using System.Diagnostics;
using System.Numerics.Tensors;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Speculative;

/// <summary>
/// EAGLE-2 drafting (docs/formats.md, "Draft forward" and "EAGLE-2 tree"): a stable draft KV cache that follows the
/// accepted sequence, and per round a dynamic tree grown by expanding the k best frontier nodes D times, then
/// reranked by cumulative log-probability. The network is an EAGLE-1/2 or EAGLE-3 head or a draft model
/// (<see cref="IDraftNetwork"/>); a chain is the tree with k = 1.
/// The draft LM head is the full head or a row subset of it (FR-Spec): log-softmax and top-k run in subset space and
/// indices map back to token ids. <see cref="DraftLimits"/> add llama.cpp's cut-offs (a child below a probability is
/// not drafted; a tree with too few drafted tokens is dropped). All buffers are allocated once.
/// </summary>
internal sealed class EagleDrafter : IDrafter
{
    private const int Chunk = 128; // pairs per stable-pass forward (bounds scratch memory)

    private readonly IDraftNetwork _network;
    private readonly ForwardState _state;
    private readonly LmHead _draftHead;
    private readonly TreeOptions _options;
    private readonly DraftLimits _limits;
    private readonly float _minLogProb;
    private readonly int _k, _hidden, _featureWidth;
    private KvCache _cache;

    // candidates of the current round, in global order: group 0 (root's children), then one group of k² per step
    private readonly float[] _score;
    private readonly int[] _token, _parent, _slot, _node;
    // the frontier being expanded: candidate ids and their input features (the parents' draft outputs)
    private readonly int[] _frontier, _nextFrontier, _tokens, _positions;
    private float[] _frontierFeat, _nextFeat;
    private readonly float[] _rootFeature, _logits;
    private readonly int[] _topIdx, _chosen;
    private readonly float[] _topVal, _chosenVal;
    private readonly AttentionMask _mask = new(0, 0, 0);
    private readonly Stopwatch _clock = new();
    private long _layerTicks, _headTicks;

    public EagleDrafter(IDraftNetwork network, TreeOptions options, int capacity, DraftLimits? limits = null)
    {
        options.Validate();
        _limits = limits ?? DraftLimits.None;
        _limits.Validate();
        _network = network; _draftHead = network.DraftHead; _options = options;
        _minLogProb = _limits.MinProbability > 0 ? MathF.Log(_limits.MinProbability) : float.NegativeInfinity;
        _state = network.CreateState();
        _hidden = network.HiddenSize;
        _featureWidth = network.Features.Width;
        _k = Math.Min(options.TopK, _draftHead.Size);
        _cache = network.CreateCache(capacity);
        int candidates = _k + options.Depth * _k * _k;
        _score = new float[candidates]; _token = new int[candidates]; _parent = new int[candidates];
        _slot = new int[candidates]; _node = new int[candidates];
        _frontier = new int[_k]; _nextFrontier = new int[_k]; _tokens = new int[_k]; _positions = new int[Math.Max(_k, Chunk)];
        _frontierFeat = new float[_k * _hidden]; _nextFeat = new float[_k * _hidden];
        _rootFeature = new float[_hidden];
        _logits = new float[_k * _draftHead.Size];
        int sel = Math.Max(_k * _k, 1);
        _topIdx = new int[sel]; _topVal = new float[sel];
        _chosen = new int[Math.Max(options.TotalTokens, 1)]; _chosenVal = new float[Math.Max(options.TotalTokens, 1)];
    }

    public DraftFeatures Features => _network.Features;

    public int MaxTreeTokens => _options.TotalTokens;

    public (double Layers, double Head) Time => (_layerTicks / (double)Stopwatch.Frequency, _headTicks / (double)Stopwatch.Frequency);

    /// <summary>Stable draft positions so far (= target tokens whose successor the draft has consumed).</summary>
    public int StableLength => _cache.Count;

    public void Begin(ReadOnlySpan<int> prompt, int maxSequenceLength)
    {
        // The stable cache follows the sequence; one round's frontier passes (depth × k slots) sit on top of it.
        int need = Math.Max(maxSequenceLength, prompt.Length + 1) + _options.Depth * _k + 2;
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
        int k = _k, h = _hidden, depth = _options.Depth;
        int stable = _cache.Count;
        if (stable == 0) throw new InvalidOperationException("Draft before Extend");

        // Group 0: the root's children, scored by the draft's log-probabilities after the last stable position.
        HeadLogits(_network.HeadInput(_state, _rootFeature, 1), 1);
        TopChildren(0, -1, 0f, 0);
        int groupEnd = k;
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
            for (int r = 0; r < k; r++) TopChildren(r, _frontier[r], _score[_frontier[r]], groupStart + r * k);
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
        int chosen = TopSelector.Select(_score.AsSpan(0, groupEnd), Math.Min(_options.TotalTokens - 1, tree.Capacity - 1), _chosen, _chosenVal);
        while (chosen > 0 && float.IsNegativeInfinity(_chosenVal[chosen - 1])) chosen--; // cut off: never drafted
        if (chosen < _limits.MinDraftTokens) chosen = 0; // too short a draft is not worth verifying (llama.cpp's --draft-min)
        _chosen.AsSpan(0, chosen).Sort();
        tree.Reset(rootToken);
        for (int i = 0; i < chosen; i++)
        {
            int g = _chosen[i], p = _parent[g];
            int parentNode = p < 0 ? 0 : _node[p];
            if (parentNode < 0)
                throw new InvalidOperationException($"draft tree candidate {g} was chosen without its parent {p}");
            _node[g] = tree.Add(_token[g], parentNode);
        }
    }

    /// <summary>Draft logits for n hidden rows in one pass over the head (each weight row is read once).</summary>
    private void HeadLogits(ReadOnlySpan<float> hidden, int n)
    {
        long t0 = Stopwatch.GetTimestamp();
        _draftHead.Compute(hidden, n, _logits);
        _headTicks += Stopwatch.GetTimestamp() - t0;
    }

    /// <summary>
    /// The k best tokens of logits row <paramref name="row"/> as candidates at <paramref name="dest"/>, scored by the
    /// parent's score plus their log-softmax over the draft vocabulary (the subset for FR-Spec). Consumes the row.
    /// </summary>
    private void TopChildren(int row, int parent, float parentScore, int dest)
    {
        long t0 = Stopwatch.GetTimestamp();
        int v = _draftHead.Size, k = _k;
        var logits = _logits.AsSpan(row * v, v);
        var idx = _topIdx.AsSpan(row * k, k);
        var val = _topVal.AsSpan(row * k, k);
        int n = TopSelector.Select(logits, k, idx, val);
        // logsumexp, computed in place: the row is not needed after its top-k
        float max = val[0];
        TensorPrimitives.Subtract(logits, max, logits);
        TensorPrimitives.Exp(logits, logits);
        float lse = max + MathF.Log(TensorPrimitives.Sum(logits));
        for (int c = 0; c < k; c++)
        {
            int g = dest + c;
            if (c < n)
            {
                _token[g] = _draftHead.TokenId(idx[c]);
                // lp ≤ 0 keeps scores non-increasing along a path, so the reranked set always holds each node's parent
                float lp = Math.Min(0f, val[c] - lse);
                _score[g] = lp < _minLogProb ? float.NegativeInfinity : parentScore + lp;
            }
            else { _token[g] = 0; _score[g] = float.NegativeInfinity; }
            _parent[g] = parent;
            _slot[g] = -1;
            _node[g] = -1;
        }
        _headTicks += Stopwatch.GetTimestamp() - t0;
    }
}
