namespace FrSpec.Speculative.AutoTree;

/// <summary>
/// Running statistics of where the target's tokens fall among the drafter's ranked candidates: for each draft
/// vocabulary (variant), tree depth d (1 = the root's children) and rank r, how often the token the target emitted after
/// an accepted node at depth d − 1 was that node's rank-r candidate. One observation per accepted node the drafter
/// expanded; observations fade by <see cref="AutoTreeOptions.Decay"/> per round, so the statistics follow the text.
///
/// A round drafted with variant c also tells what a smaller variant s ⊆ c would have proposed: s's ranking is c's
/// restricted to s, so the rank under s is counted exactly. Variants not drafted with are estimated from the one with
/// the most observations, scaled by the share of emitted tokens each vocabulary contains (coverage): the draft finds
/// the target's token about as often as before when the token is in its vocabulary, and never when it is not.
/// No allocation after construction.
/// </summary>
internal sealed class AcceptanceStatistics : IAcceptanceModel
{
    /// <summary>
    /// Pseudo-observations that tie the estimate at depth d to depth d − 1 (and depth 1 to the prior): few, so that a
    /// handful of rounds outweighs the prior and the tree follows the text within one re-planning interval or two.
    /// </summary>
    private const double DepthPrior = 2;
    /// <summary>Observations of its own at which a rarely observed variant's estimate counts half, the rest coming from the best-observed variant.</summary>
    private const double VariantPrior = 8;
    /// <summary>
    /// Before any observation: chance that the target's token is the draft's rank-r candidate. Optimistic on purpose
    /// (EAGLE's heads find the target's token first about three times in four): a deep tree that proves too deep is seen
    /// failing within a few rounds, while a shallow one never observes the depths it leaves out.
    /// </summary>
    private static readonly double[] GenericPrior = [0.75, 0.08, 0.04, 0.025, 0.015, 0.012, 0.01, 0.008, 0.006, 0.005, 0.004, 0.003, 0.003, 0.002, 0.002, 0.002];

    private readonly bool[]?[] _member;   // per variant: which token ids it holds (null = every id)
    private readonly bool[] _subset;      // [s, c]: variant s ⊆ variant c
    private readonly double[] _trials;    // [variant, depth]
    private readonly double[] _hits;      // [variant, depth, rank]
    private readonly double[] _inVocab;   // [variant]: emitted tokens it contains
    private readonly double[] _own, _best;
    private readonly double _decay;
    private double _emitted;

    public int Variants { get; }
    /// <summary>Depth levels tracked (depth 1 … Depths).</summary>
    public int Depths { get; }
    /// <summary>Ranks tracked per depth.</summary>
    public int Ranks { get; }
    /// <summary>Rounds observed so far (not decayed).</summary>
    public int Rounds { get; private set; }

    /// <param name="members">Per variant, the token ids of its draft vocabulary (null = the full vocabulary).</param>
    /// <param name="vocabSize">The target's vocabulary size.</param>
    /// <param name="depths">Depth levels to track.</param>
    /// <param name="ranks">Ranks to track per depth.</param>
    /// <param name="decay">Weight kept by older observations per round, so the statistics follow the text being written.</param>
    public AcceptanceStatistics(IReadOnlyList<IReadOnlyList<int>?> members, int vocabSize, int depths, int ranks, double decay)
    {
        Variants = members.Count; Depths = depths; Ranks = Math.Min(ranks, DraftTree.MaxCandidates); _decay = decay;
        _member = new bool[]?[Variants];
        for (int v = 0; v < Variants; v++)
        {
            if (members[v] is not { } ids) continue;
            var m = new bool[vocabSize];
            foreach (int id in ids) m[id] = true;
            _member[v] = m;
        }
        _subset = new bool[Variants * Variants];
        for (int s = 0; s < Variants; s++)
            for (int c = 0; c < Variants; c++)
                _subset[s * Variants + c] = IsSubset(_member[s], _member[c], members[s]);
        _trials = new double[Variants * Depths];
        _hits = new double[Variants * Depths * Ranks];
        _inVocab = new double[Variants];
        _own = new double[Depths * Ranks];
        _best = new double[Depths * Ranks];
    }

    private static bool IsSubset(bool[]? s, bool[]? c, IReadOnlyList<int>? sIds)
    {
        if (c == null) return true;
        if (s == null) return false;
        foreach (int id in sIds!) if (!c[id]) return false;
        return true;
    }

    private bool Contains(int variant, int token) => _member[variant] is not { } m || ((uint)token < (uint)m.Length && m[token]);

    /// <summary>Tokens seen outside drafting (the prompt): they only inform the coverage of each vocabulary.</summary>
    public void ObserveText(ReadOnlySpan<int> tokens)
    {
        foreach (int t in tokens) ObserveToken(t);
    }

    private void ObserveToken(int token)
    {
        _emitted++;
        for (int v = 0; v < Variants; v++) if (Contains(v, token)) _inVocab[v]++;
    }

    /// <summary>
    /// One verified round drafted with <paramref name="variant"/>: the accepted path (node indices, root first) and the
    /// bonus token. The target's token after path node j is the next path node's token, or the bonus after the last.
    /// </summary>
    public void ObserveRound(int variant, DraftTree tree, ReadOnlySpan<int> path, int bonus)
    {
        Fade();
        Rounds++;
        for (int j = 0; j < path.Length; j++)
        {
            int y = j + 1 < path.Length ? tree.Tokens[path[j + 1]] : bonus;
            ObserveToken(y);
            int depth = tree.Depths[path[j]];
            var candidates = tree.Candidates(path[j]);
            if (candidates.Length == 0 || depth >= Depths) continue; // not expanded: where y ranked is unknown
            for (int s = 0; s < Variants; s++)
            {
                if (!_subset[s * Variants + variant]) continue;
                _trials[s * Depths + depth]++;
                int rank = 0;
                foreach (int c in candidates)
                {
                    if (!Contains(s, c)) continue; // s would not have proposed it: the later ones move up
                    if (rank >= Ranks) break;
                    if (c == y) { _hits[(s * Depths + depth) * Ranks + rank]++; break; }
                    rank++;
                }
            }
        }
    }

    private void Fade() => Scale(_decay);

    /// <summary>Fades the observations as <paramref name="rounds"/> rounds would, without observing anything (plain decoding).</summary>
    public void Age(int rounds)
    {
        if (rounds > 0) Scale(Math.Pow(_decay, rounds));
    }

    private void Scale(double factor)
    {
        if (factor >= 1) return;
        for (int i = 0; i < _trials.Length; i++) _trials[i] *= factor;
        for (int i = 0; i < _hits.Length; i++) _hits[i] *= factor;
        for (int i = 0; i < _inVocab.Length; i++) _inVocab[i] *= factor;
        _emitted *= factor;
    }

    /// <summary>Whether the statistics started from an earlier session's (<see cref="Seed"/>) rather than the generic prior.</summary>
    public bool WarmStart { get; private set; }

    /// <summary>The counts as they stand, for <see cref="AcceptanceMemory"/>: <paramref name="key"/> names what they belong to.</summary>
    public AcceptanceSnapshot Snapshot(string key) => new()
    {
        Key = key, Variants = Variants, Depths = Depths, Ranks = Ranks, Rounds = Rounds, Emitted = _emitted,
        InVocab = (double[])_inVocab.Clone(), Trials = (double[])_trials.Clone(), Hits = (double[])_hits.Clone(),
    };

    /// <summary>
    /// Starts from an earlier session's counts instead of the generic prior, scaled down so that they weigh at most
    /// <paramref name="maxRounds"/> rounds (of depth-1 observations): enough to start with the right tree, little enough
    /// that the text this session writes takes over within a few dozen rounds. Only before the first observation.
    /// </summary>
    public void Seed(AcceptanceSnapshot snapshot, double maxRounds)
    {
        if (snapshot.Variants != Variants || snapshot.Depths != Depths || snapshot.Ranks != Ranks)
            throw new ArgumentException("the snapshot has other dimensions");
        if (Rounds > 0 || _emitted > 0) throw new InvalidOperationException("seed the statistics before observing");
        double weight = 0;
        for (int v = 0; v < Variants; v++) weight = Math.Max(weight, snapshot.Trials[v * Depths]);
        if (weight <= 0) return; // nothing was learned
        double scale = Math.Min(1, maxRounds / weight);
        for (int i = 0; i < _trials.Length; i++) _trials[i] = snapshot.Trials[i] * scale;
        for (int i = 0; i < _hits.Length; i++) _hits[i] = snapshot.Hits[i] * scale;
        // coverage is a share of tokens, not of rounds: kept at the same relative weight
        for (int i = 0; i < _inVocab.Length; i++) _inVocab[i] = snapshot.InVocab[i] * scale;
        _emitted = snapshot.Emitted * scale;
        WarmStart = true;
    }

    /// <summary>Share of emitted tokens inside the variant's vocabulary (smoothed towards 1 before any token is seen).</summary>
    public double Coverage(int variant) => (_inVocab[variant] + 1) / (_emitted + 1);

    /// <summary>Observations of depth-1 candidates for a variant (decayed).</summary>
    public double Trials(int variant) => _trials[variant * Depths];

    /// <summary>
    /// The estimated probability p[d·Ranks + r] that the target's token after an accepted node at depth d is that node's
    /// rank-r candidate (d = 0 for the root's children), for <paramref name="variant"/>.
    /// </summary>
    public void Estimate(int variant, Span<double> p)
    {
        int best = 0;
        for (int v = 1; v < Variants; v++) if (Trials(v) > Trials(best)) best = v;
        Own(variant, _own);
        // a variant observed about as often as the best-observed one stands on its own data
        if (best == variant || Trials(variant) >= 0.5 * Trials(best)) { _own.CopyTo(p); return; }
        double w = Trials(variant) / (Trials(variant) + VariantPrior);
        Own(best, _best);
        double scale = Coverage(variant) / Coverage(best);
        for (int i = 0; i < p.Length; i++) p[i] = w * _own[i] + (1 - w) * Math.Min(1, _best[i] * scale);
        for (int d = 0; d < Depths; d++) Normalize(p.Slice(d * Ranks, Ranks));
    }

    /// <summary>A variant's own estimate: counts shrunk towards the previous depth's estimate (depth 1: the generic prior × coverage).</summary>
    private void Own(int v, double[] p)
    {
        double coverage = Coverage(v);
        for (int d = 0; d < Depths; d++)
        {
            double n = _trials[v * Depths + d];
            for (int r = 0; r < Ranks; r++)
            {
                double prior = d == 0 ? GenericPrior[r] * coverage : p[(d - 1) * Ranks + r];
                p[d * Ranks + r] = (_hits[(v * Depths + d) * Ranks + r] + DepthPrior * prior) / (n + DepthPrior);
            }
            Normalize(p.AsSpan(d * Ranks, Ranks));
        }
    }

    /// <summary>Probabilities of mutually exclusive events: their sum cannot exceed 1.</summary>
    private static void Normalize(Span<double> p)
    {
        double sum = 0;
        foreach (double x in p) sum += x;
        if (sum > 1) foreach (ref double x in p) x /= sum;
    }
}
