using FrSpec.Generation;

namespace FrSpec.Speculative.AutoTree;

/// <summary>
/// Chooses the tree shape and draft vocabulary with the highest expected decode speed (docs/speculative.md, "The
/// automatic tree"): for every variant v, top-k k and depth D within the bounds it builds the tree the drafter would
/// build from the acceptance estimates p(d, r) (<see cref="AcceptanceStatistics"/>): the root's k children have values
/// p(1, r); each of D steps expands the k best nodes of the last group, child r of a node with value x getting
/// x · p(d, r); the T − 1 most valuable candidates form the tree. A node's value is the chance that it is accepted, so
/// the expected tokens per round are E(T) = 1 + the sum of the T − 1 values (the 1 is the bonus token). The cost of a
/// round, from the measured <see cref="CostProfile"/>, is
///   draft = head(v, 1) + D · (layer(k) + head(v, k)) + layer(E)   (root step, D expansion steps, the accepted pairs)
///   verify = forward(T) + target head(min(T, D + 2))              (the tree pass and the draft's best path's logits)
///            + x · target head(1)                                  (x: expected accepted nodes off that path, one pass each)
/// and the plan maximises E(T) / (draft + verify) against plain decoding's 1 / (forward(1) + target head(1)).
/// Scratch is allocated once; a plan costs about a millisecond.
/// </summary>
internal sealed class TreePlanner
{
    private readonly CostProfile _costs;
    private readonly TreeOptions _bounds;
    private readonly int[] _variantSizes;
    private readonly int _smallestVariant;
    private readonly double[] _p, _values, _group, _frontier, _merged, _chain;

    public TreePlanner(CostProfile costs, TreeOptions bounds, IReadOnlyList<int> variantSizes, int depths, int ranks)
    {
        _costs = costs; _bounds = bounds; _variantSizes = [.. variantSizes];
        _smallestVariant = _variantSizes.Min();
        Depths = depths; Ranks = ranks;
        int k = bounds.TopK, candidates = k + bounds.Depth * k * k;
        _p = new double[depths * ranks];
        _values = new double[candidates];
        _merged = new double[candidates];
        _group = new double[k * k];
        _frontier = new double[k];
        _chain = new double[bounds.Depth + 1];
    }

    public int Depths { get; }
    public int Ranks { get; }

    /// <summary>The best tree under the current statistics, with its predicted speed and plain decoding's (no allocation).</summary>
    public PlanChoice Plan(IAcceptanceModel stats)
    {
        double bestRate = -1, bestE = 0;
        int bestV = 0, bestK = 1, bestD = 0, bestT = 2;
        int maxK = Math.Min(Math.Min(_bounds.TopK, Ranks), _smallestVariant);
        for (int v = 0; v < _variantSizes.Length; v++)
        {
            stats.Estimate(v, _p);
            for (int k = 1; k <= maxK; k++)
            {
                // group 0: the root's k children
                for (int r = 0; r < k; r++) _group[r] = _p[r];
                SortDescending(_group.AsSpan(0, k));
                _group.AsSpan(0, k).CopyTo(_frontier);
                int count = Merge(_values, 0, _group.AsSpan(0, k));
                _chain[0] = _p[0];
                for (int depth = 0; ; depth++)
                {
                    if (depth > 0) _chain[depth] = _chain[depth - 1] * _p[depth * Ranks];
                    Evaluate(v, k, depth, count, ref bestRate, ref bestE, ref bestV, ref bestK, ref bestD, ref bestT);
                    if (depth >= Math.Min(_bounds.Depth, Depths - 1)) break;
                    // expand the k best nodes of the last group one level deeper
                    int d = depth + 1, n = 0;
                    for (int f = 0; f < k; f++)
                        for (int r = 0; r < k; r++) _group[n++] = _frontier[f] * _p[d * Ranks + r];
                    SortDescending(_group.AsSpan(0, n));
                    _group.AsSpan(0, k).CopyTo(_frontier);
                    count = Merge(_values, count, _group.AsSpan(0, n));
                }
            }
        }
        return new PlanChoice(bestV, bestD, bestK, bestT, bestE, bestRate, 1 / _costs.PlainSecondsPerToken);
    }

    /// <summary>The public description of a choice (<paramref name="speculative"/>: whether it is used or plain decoding is).</summary>
    public TreePlan Describe(PlanChoice c, bool speculative) => new()
    {
        Speculative = speculative,
        Depth = c.Depth, TopK = c.TopK, TotalTokens = c.Tokens,
        DraftVocabularySize = _variantSizes[c.Variant],
        Auto = true,
        PredictedAcceptLength = c.AcceptLength,
        PredictedTokensPerSecond = c.Rate,
        PredictedPlainTokensPerSecond = c.PlainRate,
    };

    private void Evaluate(int v, int k, int depth, int count, ref double bestRate, ref double bestE, ref int bestV, ref int bestK, ref int bestD, ref int bestT)
    {
        var c = _costs;
        double draft = c.DraftHead(v, 1) + depth * (c.DraftLayer(k) + c.DraftHead(v, k));
        int maxT = Math.Min(_bounds.TotalTokens, count + 1);
        double e = 1;
        for (int t = 2; t <= maxT; t++)
        {
            e += _values[t - 2];
            // accepted nodes off the draft's best path (the chain of rank-0 children) each need one more LM-head pass
            double chain = 0;
            for (int d = 0; d <= depth; d++) if (_chain[d] >= _values[t - 2]) chain += _chain[d];
            double offPath = Math.Max(0, e - 1 - chain);
            double seconds = draft + c.DraftLayer(e) + c.Forward(t) + c.TargetHead(Math.Min(t, depth + 2)) + offPath * c.TargetHead(1);
            double rate = e / seconds;
            if (rate > bestRate) { bestRate = rate; bestE = e; bestV = v; bestK = k; bestD = depth; bestT = t; }
        }
    }

    /// <summary>Merges sorted (descending) <paramref name="add"/> into the first <paramref name="count"/> sorted values; returns the new count.</summary>
    private int Merge(double[] values, int count, ReadOnlySpan<double> add)
    {
        int i = 0, j = 0, n = 0;
        while (i < count || j < add.Length)
            _merged[n++] = j >= add.Length || (i < count && values[i] >= add[j]) ? values[i++] : add[j++];
        _merged.AsSpan(0, n).CopyTo(values);
        return n;
    }

    private static void SortDescending(Span<double> x)
    {
        x.Sort();
        x.Reverse();
    }
}

/// <summary>A tree the planner chose: variant, shape, expected tokens per round and decode speeds (tree, plain).</summary>
internal readonly record struct PlanChoice(int Variant, int Depth, int TopK, int Tokens, double AcceptLength, double Rate, double PlainRate)
{
    public bool BeatsPlain => Rate > PlainRate;

    /// <summary>Same tree and vocabulary (predictions aside).</summary>
    public bool SameTree(PlanChoice o) => Variant == o.Variant && Depth == o.Depth && TopK == o.TopK && Tokens == o.Tokens;
}
