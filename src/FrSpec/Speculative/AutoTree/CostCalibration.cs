using System.Diagnostics;
using FrSpec.Generation;
using FrSpec.Model;

namespace FrSpec.Speculative.AutoTree;

/// <summary>
/// Measures a <see cref="CostProfile"/>: the target's forward pass over T tree tokens (EAGLE-like bushy tree mask over a
/// short random context) and its LM head over r rows (<see cref="MeasureTarget"/>), and the drafter's own step (layer and
/// each variant's LM head) over r rows (<see cref="MeasureDraft"/>). One warm-up pass, then interleaved repetitions (medians), so a drift of the machine hits every point alike.
/// Timings do not depend on the values, so the context, tokens and features are seeded random.
/// </summary>
internal static class CostCalibration
{
    private const int Context = 64;
    private static readonly int[] TreeGrid = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256];
    private static readonly int[] RowGrid = [1, 2, 3, 4, 6, 8, 10, 12, 16];

    /// <summary>
    /// The target's costs for trees within <paramref name="bounds"/>: <paramref name="repeats"/> timed passes per point
    /// (one when a single pass over the grid takes over 5 s, so a 7B calibrates in tens of seconds).
    /// </summary>
    public static TargetCosts MeasureTarget(Transformer target, TreeOptions bounds, int repeats = 3)
    {
        var total = Stopwatch.StartNew();
        int vocab = target.Config.VocabSize, h = target.Config.HiddenSize;
        var rng = new Rng(20_250_601);
        int Token() => (int)(rng.NextUInt64() % (ulong)vocab);
        int[] trees = Grid(TreeGrid, bounds.TotalTokens);
        int[] headRows = Grid(RowGrid, Math.Min(bounds.Depth + 2, bounds.TotalTokens));

        // a context, then tree passes that are rolled back
        var state = target.CreateState();
        var cache = target.CreateCache(Context + trees[^1] + 1);
        var prompt = new int[Context];
        for (int i = 0; i < Context; i++) prompt[i] = Token();
        var last = VanillaDecoder.Prefill(target, state, cache, prompt);
        var tokens = new int[trees[^1]];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = Token();
        var positions = new int[trees[^1]];
        var parents = new int[trees[^1]];
        var mask = new AttentionMask(0, 0, 0);
        int maxHeadRows = headRows[^1];
        var rows = new float[maxHeadRows * h];
        for (int r = 0; r < maxHeadRows; r++) last.CopyTo(rows, r * h);
        var logits = new float[maxHeadRows * (long)vocab <= Array.MaxLength ? maxHeadRows * vocab : vocab];

        var forward = trees.Select(_ => new List<double>()).ToArray();
        var head = headRows.Select(_ => new List<double>()).ToArray();
        int reps = repeats;
        for (int rep = -1; rep < reps; rep++)
        {
            long passStart = Stopwatch.GetTimestamp();
            for (int i = 0; i < trees.Length; i++)
            {
                int t = trees[i];
                for (int n = 0; n < t; n++)
                {
                    parents[n] = n == 0 ? -1 : (n - 1) / 3; // bushy, like EAGLE-2's trees
                    positions[n] = n == 0 ? Context : positions[parents[n]] + 1;
                }
                long t0 = Stopwatch.GetTimestamp();
                mask.Reset(Context, t, Context);
                mask.FillTree(parents.AsSpan(0, t));
                target.Forward(state, cache, tokens.AsSpan(0, t), positions.AsSpan(0, t), mask);
                long t1 = Stopwatch.GetTimestamp();
                cache.Rollback();
                if (rep >= 0) forward[i].Add(Seconds(t1 - t0));
            }
            for (int i = 0; i < headRows.Length; i++)
            {
                int r = headRows[i];
                if ((long)r * vocab > logits.Length) continue;
                long t0 = Stopwatch.GetTimestamp();
                target.Head.Compute(rows.AsSpan(0, r * h), r, logits);
                if (rep >= 0) head[i].Add(Seconds(Stopwatch.GetTimestamp() - t0));
            }
            // a slow model (a 7B on a small CPU) gets fewer repetitions, so calibration stays in the tens of seconds
            if (rep == -1 && Seconds(Stopwatch.GetTimestamp() - passStart) > 5) reps = 1;
        }

        return new TargetCosts
        {
            TreeTokens = trees, ForwardSeconds = Monotone(forward),
            HeadRows = headRows.Where((_, i) => head[i].Count > 0).ToArray(), HeadSeconds = Monotone(head.Where(x => x.Count > 0)),
            CalibrationSeconds = total.Elapsed.TotalSeconds,
        };
    }

    /// <summary>
    /// The drafter's costs for trees within its bounds: one step over r rows with each variant's LM head, after a stable
    /// context of random pairs (random features as wide as the drafter reads: none, the final hidden state or EAGLE-3's
    /// fused layers). The drafter is left in no particular sequence state (call Begin before drafting).
    /// </summary>
    public static DraftCosts MeasureDraft(ITunableDrafter drafter, int vocab, int repeats = 3)
    {
        var total = Stopwatch.StartNew();
        var rng = new Rng(20_250_602);
        int Token() => (int)(rng.NextUInt64() % (ulong)vocab);
        int[] draftRows = Grid(RowGrid, Math.Max(1, Math.Min(drafter.Bounds.TopK, drafter.VariantSizes.Min())));
        var prompt = new int[Context];
        for (int i = 0; i < Context; i++) prompt[i] = Token();
        var features = new float[Context * drafter.Features.Width];
        for (int i = 0; i < features.Length; i++) features[i] = (float)(rng.NextDouble() * 2 - 1);
        var next = new int[Context];
        for (int i = 0; i < Context; i++) next[i] = Token();
        drafter.Begin(prompt, Context + 2);
        drafter.Extend(features, next);
        int variants = drafter.VariantSizes.Count;
        var layer = draftRows.Select(_ => new List<double>()).ToArray();
        var draftHead = Enumerable.Range(0, variants).Select(_ => draftRows.Select(_ => new List<double>()).ToArray()).ToArray();
        for (int rep = -1; rep < repeats; rep++)
            for (int v = 0; v < variants; v++)
                for (int i = 0; i < draftRows.Length; i++)
                {
                    var (l, hd) = drafter.TimeStep(v, draftRows[i]);
                    if (rep < 0) continue;
                    layer[i].Add(l);
                    draftHead[v][i].Add(hd);
                }
        return new DraftCosts
        {
            DraftRows = draftRows, DraftLayerSeconds = Monotone(layer),
            VariantSizes = [.. drafter.VariantSizes], DraftHeadSeconds = [.. draftHead.Select(Monotone)],
            CalibrationSeconds = total.Elapsed.TotalSeconds,
        };
    }

    /// <summary>The grid points up to <paramref name="max"/>, with <paramref name="max"/> itself as the last point.</summary>
    private static int[] Grid(int[] grid, int max) => [.. grid.Where(x => x < max).Append(max).Distinct()];

    private static double Seconds(long ticks) => ticks / (double)Stopwatch.Frequency;

    /// <summary>The fastest sample of each point, then each point capped by every larger point's time.</summary>
    private static double[] Monotone(IEnumerable<List<double>> samples)
    {
        var best = samples.Select(s => s.Count == 0 ? 0 : s.Min()).ToArray();
        for (int i = best.Length - 2; i >= 0; i--) best[i] = Math.Min(best[i], best[i + 1]);
        return best;
    }
}
