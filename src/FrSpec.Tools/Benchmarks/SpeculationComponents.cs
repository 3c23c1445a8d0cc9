using System.Diagnostics;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Speculative;

namespace FrSpec.Benchmarks;

/// <summary>Median time of one draft step: the draft network over k rows (Medusa: its ResBlocks), then the (subset) LM head with
/// log-softmax and top-k (<see cref="HeadProductMs"/>: the head's matrix product alone). <see cref="LayerPhases"/> splits the
/// layer part by phase (mean ms per step; null where the network's passes are not profiled, e.g. Medusa).
/// <see cref="SamplesMs"/> holds each repetition's total and <see cref="DecodeSamplesMs"/> the target's decode step timed in
/// the same repetition (null when no target was given), for per-repetition ratios (<see cref="PairedMeasurement"/>).</summary>
public sealed record DraftStepTiming(string Label, int VocabRows, double LayerMs, double HeadMs, double HeadProductMs,
    IReadOnlyDictionary<string, double>? LayerPhases = null, IReadOnlyList<double>? SamplesMs = null, IReadOnlyList<double>? DecodeSamplesMs = null)
{
    public double TotalMs => LayerMs + HeadMs;
}

/// <summary>
/// Verifying a tree of <see cref="TreeTokens"/> tokens, medians: the target forward with a tree mask, then the LM head
/// for every node (<see cref="Ms"/>, how batched benchmarks count), or only for the draft's main chain — root and first
/// children, <see cref="ChainRows"/> rows — as the verifier computes it up front (<see cref="VerifierMs"/>; another
/// visited node costs one more row). <see cref="Phases"/> splits the forward (mean ms per pass). <see cref="SamplesMs"/> and
/// <see cref="VerifierSamplesMs"/> are the repetitions in order (for per-repetition ratios to T = 1); for T = 1, when a read
/// pass was given, <see cref="ReadBeforeGBs"/> and <see cref="ReadAfterGBs"/> are the read bandwidths measured right before
/// and right after each repetition's pass.
/// </summary>
public sealed record VerifyTiming(int TreeTokens, double ForwardMs, double HeadMs, int ChainRows, double ChainHeadMs, double Ms, double VerifierMs,
    IReadOnlyDictionary<string, double> Phases, IReadOnlyList<double>? SamplesMs = null, IReadOnlyList<double>? VerifierSamplesMs = null,
    IReadOnlyList<double>? ReadBeforeGBs = null, IReadOnlyList<double>? ReadAfterGBs = null)
{
    /// <summary>The matrix products of the layers (q/k/v, o, gate/up, down), ms.</summary>
    public double ProjectionMs => Phases.Where(p => p.Key.EndsWith("Projection", StringComparison.Ordinal) || p.Key.EndsWith("Projections", StringComparison.Ordinal)).Sum(p => p.Value);
}

/// <summary>A prompt prefilled in chunks through the batched kernels (the LM head for its last row only).</summary>
public sealed record PrefillTiming(int Tokens, int Chunk, double Seconds, IReadOnlyDictionary<string, double> Phases)
{
    public double TokensPerSecond => Tokens / Seconds;
}

/// <summary>
/// Micro-benchmarks of the parts of speculative decoding (FR-Spec paper Fig. 1/6 style): what a draft step costs with the
/// full LM head versus frequency subsets, and what verifying T tree tokens costs versus a single-token decode.
/// Variants are interleaved within each repetition so drift affects them alike; medians are reported.
/// </summary>
public static class SpeculationComponents
{
    /// <summary>EAGLE-1/2 draft steps: the head's layer over <paramref name="rows"/> rows, then each variant's LM head.</summary>
    public static IReadOnlyList<DraftStepTiming> DraftSteps(Transformer target, EagleHead head, IReadOnlyList<(string Label, DraftVocabulary? Vocabulary)> variants,
        int rows, int context, int repeats)
    {
        var heads = variants.Select(v => v.Vocabulary == null ? target.Head : target.Head.Subset(v.Vocabulary)).ToArray();
        try
        {
            return NetworkSteps(heads.Select((h, i) => (variants[i].Label, (IDraftNetwork)new Eagle2Network(head, target.Embedding, h))).ToList(),
                target.Config.VocabSize, rows, context, repeats, target);
        }
        finally
        {
            for (int i = 0; i < heads.Length; i++) if (variants[i].Vocabulary != null) heads[i].Dispose();
        }
    }

    /// <summary>
    /// One draft step of any draft network (an EAGLE-1/2/3 head or a draft model), per LM-head variant: the network over
    /// <paramref name="rows"/> tree rows after a stable context of <paramref name="context"/> random pairs, then the
    /// variant's LM head with log-softmax and top-k. Variants share one network state and cache. With a
    /// <paramref name="target"/>, each repetition also times one decode step of it (<see cref="DecodeStep"/>).
    /// </summary>
    internal static IReadOnlyList<DraftStepTiming> NetworkSteps(IReadOnlyList<(string Label, IDraftNetwork Network)> variants, int vocab,
        int rows, int context, int repeats, Transformer? target = null)
    {
        var decode = target == null ? null : new DecodeStep(target, context);
        var decodeMs = new List<double>();
        var first = variants[0].Network;
        int h = first.HiddenSize, fw = first.Features.Width;
        var rng = new Rng(7);
        var state = first.CreateState();
        var cache = first.CreateCache(context + rows + 2);
        // a stable context of random pairs, as after a prompt of that length
        var ctxTokens = Enumerable.Range(0, context + 1).Select(_ => (int)(rng.NextUInt64() % (ulong)vocab)).ToArray();
        first.Begin(state, cache, ctxTokens);
        var ctxFeatures = RandomFeatures(rng, context * fw);
        for (int s = 0; s < context; s += 128)
        {
            int n = Math.Min(128, context - s);
            first.Forward(state, cache, ctxTokens.AsSpan(1 + s, n), ctxFeatures.AsSpan(s * fw, n * fw),
                Enumerable.Range(cache.Count, n).ToArray(), null, fromTarget: true);
            cache.CommitAll();
        }
        int stable = cache.Count;
        var tokens = Enumerable.Range(0, rows).Select(_ => (int)(rng.NextUInt64() % (ulong)vocab)).ToArray();
        var features = RandomFeatures(rng, rows * h);
        var positions = Enumerable.Repeat(stable, rows).ToArray();
        var mask = new AttentionMask(stable, rows, stable);
        for (int r = 0; r < rows; r++) mask.Allow(r, stable + r);
        var input = new float[rows * h];
        var logits = new float[rows * variants.Max(x => x.Network.DraftHead.Size)];
        // the drafter's own per-row work: each row's ranked candidates (at least the tree's top-k) and log-sum-exp
        var rowScores = new DraftRowScores(rows, Math.Max(rows, DraftTree.MaxCandidates));

        var layer = variants.Select(_ => new List<double>()).ToArray();
        var lm = variants.Select(_ => new List<double>()).ToArray();
        var product = variants.Select(_ => new List<double>()).ToArray();
        var profiles = variants.Select(_ => new PassProfile()).ToArray();
        for (int rep = -2; rep < repeats; rep++) // two warm-up rounds
            for (int v = 0; v < variants.Count; v++)
            {
                var network = variants[v].Network;
                state.Buffers.Profile = rep >= 0 ? profiles[v] : null;
                long t0 = Stopwatch.GetTimestamp();
                var output = network.Forward(state, cache, tokens, features, positions, mask, fromTarget: false);
                network.HeadInput(state, output, rows).CopyTo(input);
                cache.Rollback();
                long t1 = Stopwatch.GetTimestamp();
                state.Buffers.Profile = null;
                var lmHead = network.DraftHead;
                int size = lmHead.Size;
                lmHead.Compute(input, rows, logits);
                long tp = Stopwatch.GetTimestamp();
                rowScores.Score(lmHead.Pool, logits, size, rows);
                long t2 = Stopwatch.GetTimestamp();
                if (rep < 0) continue;
                layer[v].Add(Ms(t1 - t0));
                lm[v].Add(Ms(t2 - t1));
                product[v].Add(Ms(tp - t1));
                if (v == variants.Count - 1 && decode != null) decodeMs.Add(decode.Ms());
            }
        return variants.Select((v, i) => new DraftStepTiming(v.Label, v.Network.DraftHead.Size, Median(layer[i]), Median(lm[i]), Median(product[i]),
            PhasesOf(profiles[i], repeats), Totals(layer[i], lm[i]), decode == null ? null : decodeMs)).ToList();
    }

    /// <summary>
    /// One decode step of a target as <see cref="Verification"/> times T = 1 (the forward of one token after a stable
    /// context, then the LM head, then a rollback), so that a draft step can be set against the decode step of the same
    /// repetition.
    /// </summary>
    internal sealed class DecodeStep
    {
        private readonly Transformer _target;
        private readonly ForwardState _state;
        private readonly KvCache _cache;
        private readonly AttentionMask _mask = new(0, 0, 0);
        private readonly int _context;
        private readonly int[] _token = [0], _position;
        private readonly float[] _logits;

        public DecodeStep(Transformer target, int context)
        {
            var rng = new Rng(17);
            int vocab = target.Config.VocabSize;
            _target = target; _context = context;
            _state = target.CreateState();
            _cache = target.CreateCache(context + 2);
            VanillaDecoder.Prefill(target, _state, _cache, Enumerable.Range(0, context).Select(_ => (int)(rng.NextUInt64() % (ulong)vocab)).ToArray());
            _token[0] = (int)(rng.NextUInt64() % (ulong)vocab);
            _position = [context];
            _logits = new float[vocab];
        }

        /// <summary>Milliseconds of one decode step.</summary>
        public double Ms()
        {
            long t0 = Stopwatch.GetTimestamp();
            _mask.Reset(_context, 1, _context);
            _mask.FillTree([-1]);
            var hidden = _target.Forward(_state, _cache, _token, _position, _mask);
            _target.Head.Compute(hidden, 1, _logits);
            double ms = SpeculationComponents.Ms(Stopwatch.GetTimestamp() - t0);
            _cache.Rollback();
            return ms;
        }
    }

    private static List<double> Totals(List<double> layer, List<double> head) => layer.Zip(head, (l, h) => l + h).ToList();

    /// <summary>
    /// One Medusa draft per LM-head variant: every head's ResBlocks on the last hidden state (the "layer" part), then its
    /// LM head with the top-k the tree needs (the "head" part). <paramref name="variants"/> give one LM head per head.
    /// </summary>
    internal static IReadOnlyList<DraftStepTiming> MedusaSteps(MedusaHeads heads, IReadOnlyList<(string Label, IReadOnlyList<LmHead> Heads)> variants,
        int depth, int topK, Compute compute, int repeats, Transformer? target = null, int context = 256)
    {
        var decode = target == null ? null : new DecodeStep(target, context);
        var decodeMs = new List<double>();
        var rng = new Rng(5);
        var h = RandomFeatures(rng, heads.HiddenSize);
        var x = new float[heads.HiddenSize];
        var scratch = new float[heads.HiddenSize];
        var logits = new float[variants.Max(v => v.Heads.Max(l => l.Size))];
        var idx = new int[64];
        var val = new float[64];
        var layer = variants.Select(_ => new List<double>()).ToArray();
        var lm = variants.Select(_ => new List<double>()).ToArray();
        var product = variants.Select(_ => new List<double>()).ToArray();
        for (int rep = -2; rep < repeats; rep++)
            for (int v = 0; v < variants.Count; v++)
            {
                double blocks = 0, head = 0, headProduct = 0;
                for (int d = 0; d < depth; d++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    heads.Transform(compute, d, h, x, scratch);
                    long t1 = Stopwatch.GetTimestamp();
                    var lmHead = variants[v].Heads[d];
                    lmHead.Compute(x, 1, logits);
                    long tp = Stopwatch.GetTimestamp();
                    TopSelector.Select(logits.AsSpan(0, lmHead.Size), Math.Min(topK, lmHead.Size), idx, val);
                    long t2 = Stopwatch.GetTimestamp();
                    blocks += Ms(t1 - t0); head += Ms(t2 - t1); headProduct += Ms(tp - t1);
                }
                if (rep < 0) continue;
                layer[v].Add(blocks);
                lm[v].Add(head);
                product[v].Add(headProduct);
                if (v == variants.Count - 1 && decode != null) decodeMs.Add(decode.Ms());
            }
        return variants.Select((v, i) => new DraftStepTiming(v.Label, v.Heads[0].Size, Median(layer[i]), Median(lm[i]), Median(product[i]),
            null, Totals(layer[i], lm[i]), decode == null ? null : decodeMs)).ToList();
    }

    /// <summary>Median milliseconds of one prompt-lookup search over a sequence of <paramref name="context"/> tokens.</summary>
    public static double LookupSearch(PromptLookupOptions options, int vocab, int context, int repeats)
    {
        var rng = new Rng(13);
        // random tokens rarely repeat an n-gram: the search scans the whole sequence for every n (its worst case)
        var sequence = Enumerable.Range(0, context).Select(_ => (int)(rng.NextUInt64() % (ulong)vocab)).ToArray();
        var samples = new List<double>();
        for (int rep = -2; rep < repeats; rep++)
        {
            long t0 = Stopwatch.GetTimestamp();
            PromptLookupDrafter.Find(sequence, options, options.DraftTokens);
            if (rep >= 0) samples.Add(Ms(Stopwatch.GetTimestamp() - t0));
        }
        return Median(samples);
    }

    /// <summary>
    /// Verifying each tree size in <paramref name="treeSizes"/>, all sizes in turn in every repetition. With
    /// <paramref name="bandwidth"/>, a read pass runs right before and right after each repetition's T = 1 pass, so that
    /// decode can be judged against the bandwidth of its own moment (<see cref="PairedMeasurement"/>).
    /// </summary>
    public static IReadOnlyList<VerifyTiming> Verification(Transformer target, IReadOnlyList<int> treeSizes, int context, int repeats,
        MachineProbe.ReadPass? bandwidth = null)
    {
        int vocab = target.Config.VocabSize, hiddenSize = target.Config.HiddenSize, maxT = treeSizes.Max();
        var rng = new Rng(11);
        var state = target.CreateState();
        var cache = target.CreateCache(context + maxT + 1);
        var prompt = Enumerable.Range(0, context).Select(_ => (int)(rng.NextUInt64() % (ulong)vocab)).ToArray();
        VanillaDecoder.Prefill(target, state, cache, prompt);
        var logits = new float[maxT * vocab];
        var chainRows = new float[maxT * hiddenSize];
        var mask = new AttentionMask(0, 0, 0);
        var trees = treeSizes.Select(t =>
        {
            // a bushy tree like EAGLE-2's: node i hangs under node (i − 1) / 3; its main chain is 0, 1, 4, 13, ...
            var parents = Enumerable.Range(0, t).Select(i => i == 0 ? -1 : (i - 1) / 3).ToArray();
            var depth = new int[t];
            for (int i = 1; i < t; i++) depth[i] = depth[parents[i]] + 1;
            var tokens = Enumerable.Range(0, t).Select(_ => (int)(rng.NextUInt64() % (ulong)vocab)).ToArray();
            var chain = new List<int>();
            for (int node = 0; node < t; node = 3 * node + 1) chain.Add(node);
            return (parents, positions: depth.Select(d => context + d).ToArray(), tokens, chain: chain.ToArray());
        }).ToArray();
        var forward = trees.Select(_ => new List<double>()).ToArray();
        var head = trees.Select(_ => new List<double>()).ToArray();
        var chainHead = trees.Select(_ => new List<double>()).ToArray();
        var profiles = trees.Select(_ => new PassProfile()).ToArray();
        List<double> before = [], after = [];
        try
        {
            for (int rep = -2; rep < repeats; rep++)
                for (int i = 0; i < trees.Length; i++)
                {
                    var (parents, positions, tokens, chain) = trees[i];
                    bool probed = bandwidth != null && parents.Length == 1;
                    double readBefore = probed ? bandwidth!.GBps() : 0;
                    state.Buffers.Profile = rep >= 0 ? profiles[i] : null;
                    long t0 = Stopwatch.GetTimestamp();
                    mask.Reset(context, parents.Length, context);
                    mask.FillTree(parents);
                    var hidden = target.Forward(state, cache, tokens, positions, mask);
                    long t1 = Stopwatch.GetTimestamp();
                    target.Head.Compute(hidden, parents.Length, logits);
                    long t2 = Stopwatch.GetTimestamp();
                    for (int c = 0; c < chain.Length; c++) hidden.Slice(chain[c] * hiddenSize, hiddenSize).CopyTo(chainRows.AsSpan(c * hiddenSize));
                    target.Head.Compute(chainRows.AsSpan(0, chain.Length * hiddenSize), chain.Length, logits);
                    long t3 = Stopwatch.GetTimestamp();
                    cache.Rollback();
                    double readAfter = probed ? bandwidth!.GBps() : 0;
                    if (rep < 0) continue;
                    forward[i].Add(Ms(t1 - t0)); head[i].Add(Ms(t2 - t1)); chainHead[i].Add(Ms(t3 - t2));
                    if (probed) { before.Add(readBefore); after.Add(readAfter); }
                }
        }
        finally { state.Buffers.Profile = null; }
        return treeSizes.Select((t, i) =>
        {
            var all = Totals(forward[i], head[i]);
            var verifier = Totals(forward[i], chainHead[i]);
            bool probed = bandwidth != null && t == 1;
            return new VerifyTiming(t, Median(forward[i]), Median(head[i]), trees[i].chain.Length, Median(chainHead[i]), Median(all), Median(verifier),
                PhasesOf(profiles[i], repeats), all, verifier, probed ? before : null, probed ? after : null);
        }).ToList();
    }

    /// <summary>Prefills a prompt of random tokens as every decoder does (chunks through the batched kernels, then the LM
    /// head for the last row), once after a short warm-up.</summary>
    public static PrefillTiming Prefill(Transformer target, int tokens)
    {
        int vocab = target.Config.VocabSize;
        var rng = new Rng(13);
        var prompt = Enumerable.Range(0, tokens).Select(_ => (int)(rng.NextUInt64() % (ulong)vocab)).ToArray();
        var state = target.CreateState();
        var cache = target.CreateCache(tokens + 1);
        var logits = new float[vocab];
        VanillaDecoder.Prefill(target, state, cache, prompt.AsSpan(0, Math.Min(tokens, VanillaDecoder.PrefillChunk))); // warm-up (JIT, buffers)
        cache.Clear();
        var profile = new PassProfile();
        state.Buffers.Profile = profile;
        long t0 = Stopwatch.GetTimestamp();
        var last = VanillaDecoder.Prefill(target, state, cache, prompt);
        target.Head.Compute(last, 1, logits);
        double seconds = Ms(Stopwatch.GetTimestamp() - t0) / 1000;
        state.Buffers.Profile = null;
        return new PrefillTiming(tokens, VanillaDecoder.PrefillChunk, seconds, PhasesOf(profile, 1));
    }

    private static IReadOnlyDictionary<string, double> PhasesOf(PassProfile profile, int passes) =>
        PassProfile.Phases.ToDictionary(p => p.ToString(), p => profile.Ms(p) / Math.Max(1, passes));

    private static float[] RandomFeatures(Rng rng, int n)
    {
        var f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float)(rng.NextDouble() * 2 - 1);
        return f;
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static double Median(List<double> v) => v.Count == 0 ? 0 : PairedMeasurement.Median(v);
}
