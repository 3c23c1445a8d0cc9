using System.Diagnostics;
using System.Numerics.Tensors;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Speculative;

namespace FrSpec.Benchmarks;

/// <summary>Median time of one draft step: the draft network over k rows (Medusa: its ResBlocks), then the (subset) LM head with log-softmax and top-k.</summary>
public sealed record DraftStepTiming(string Label, int VocabRows, double LayerMs, double HeadMs)
{
    public double TotalMs => LayerMs + HeadMs;
}

/// <summary>Median time of verifying a tree of <see cref="TreeTokens"/> tokens (target forward + full LM head over every node).</summary>
public sealed record VerifyTiming(int TreeTokens, double Ms);

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
                target.Config.VocabSize, rows, context, repeats);
        }
        finally
        {
            for (int i = 0; i < heads.Length; i++) if (variants[i].Vocabulary != null) heads[i].Dispose();
        }
    }

    /// <summary>
    /// One draft step of any draft network (an EAGLE-1/2/3 head or a draft model), per LM-head variant: the network over
    /// <paramref name="rows"/> tree rows after a stable context of <paramref name="context"/> random pairs, then the
    /// variant's LM head with log-softmax and top-k. Variants share one network state and cache.
    /// </summary>
    internal static IReadOnlyList<DraftStepTiming> NetworkSteps(IReadOnlyList<(string Label, IDraftNetwork Network)> variants, int vocab,
        int rows, int context, int repeats)
    {
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
        var idx = new int[64];
        var val = new float[64];
        int k = Math.Min(10, variants.Min(x => x.Network.DraftHead.Size));

        var layer = variants.Select(_ => new List<double>()).ToArray();
        var lm = variants.Select(_ => new List<double>()).ToArray();
        for (int rep = -2; rep < repeats; rep++) // two warm-up rounds
            for (int v = 0; v < variants.Count; v++)
            {
                var network = variants[v].Network;
                long t0 = Stopwatch.GetTimestamp();
                var output = network.Forward(state, cache, tokens, features, positions, mask, fromTarget: false);
                network.HeadInput(state, output, rows).CopyTo(input);
                cache.Rollback();
                long t1 = Stopwatch.GetTimestamp();
                var lmHead = network.DraftHead;
                int size = lmHead.Size;
                lmHead.Compute(input, rows, logits);
                for (int r = 0; r < rows; r++) LogSoftmaxTopK(logits.AsSpan(r * size, size), k, idx, val);
                long t2 = Stopwatch.GetTimestamp();
                if (rep < 0) continue;
                layer[v].Add(Ms(t1 - t0));
                lm[v].Add(Ms(t2 - t1));
            }
        return variants.Select((v, i) => new DraftStepTiming(v.Label, v.Network.DraftHead.Size, Median(layer[i]), Median(lm[i]))).ToList();
    }

    /// <summary>
    /// One Medusa draft per LM-head variant: every head's ResBlocks on the last hidden state (the "layer" part), then its
    /// LM head with the top-k the tree needs (the "head" part). <paramref name="variants"/> give one LM head per head.
    /// </summary>
    internal static IReadOnlyList<DraftStepTiming> MedusaSteps(MedusaHeads heads, IReadOnlyList<(string Label, IReadOnlyList<LmHead> Heads)> variants,
        int depth, int topK, Compute compute, int repeats)
    {
        var rng = new Rng(5);
        var h = RandomFeatures(rng, heads.HiddenSize);
        var x = new float[heads.HiddenSize];
        var scratch = new float[heads.HiddenSize];
        var logits = new float[variants.Max(v => v.Heads.Max(l => l.Size))];
        var idx = new int[64];
        var val = new float[64];
        var layer = variants.Select(_ => new List<double>()).ToArray();
        var lm = variants.Select(_ => new List<double>()).ToArray();
        for (int rep = -2; rep < repeats; rep++)
            for (int v = 0; v < variants.Count; v++)
            {
                double blocks = 0, head = 0;
                for (int d = 0; d < depth; d++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    heads.Transform(compute, d, h, x, scratch);
                    long t1 = Stopwatch.GetTimestamp();
                    var lmHead = variants[v].Heads[d];
                    lmHead.Compute(x, 1, logits);
                    TopSelector.Select(logits.AsSpan(0, lmHead.Size), Math.Min(topK, lmHead.Size), idx, val);
                    long t2 = Stopwatch.GetTimestamp();
                    blocks += Ms(t1 - t0); head += Ms(t2 - t1);
                }
                if (rep < 0) continue;
                layer[v].Add(blocks);
                lm[v].Add(head);
            }
        return variants.Select((v, i) => new DraftStepTiming(v.Label, v.Heads[0].Size, Median(layer[i]), Median(lm[i]))).ToList();
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

    /// <summary>The draft's per-row work after its LM head: top-k and the log-sum-exp for scores (consumes the row).</summary>
    private static void LogSoftmaxTopK(Span<float> row, int k, int[] idx, float[] val)
    {
        TopSelector.Select(row, k, idx, val);
        TensorPrimitives.Subtract(row, val[0], row);
        TensorPrimitives.Exp(row, row);
        val[1] = MathF.Log(TensorPrimitives.Sum(row));
    }

    public static IReadOnlyList<VerifyTiming> Verification(Transformer target, IReadOnlyList<int> treeSizes, int context, int repeats)
    {
        int vocab = target.Config.VocabSize, maxT = treeSizes.Max();
        var rng = new Rng(11);
        var state = target.CreateState();
        var cache = target.CreateCache(context + maxT + 1);
        var prompt = Enumerable.Range(0, context).Select(_ => (int)(rng.NextUInt64() % (ulong)vocab)).ToArray();
        VanillaDecoder.Prefill(target, state, cache, prompt);
        var logits = new float[maxT * vocab];
        var mask = new AttentionMask(0, 0, 0);
        var samples = treeSizes.Select(_ => new List<double>()).ToArray();
        var trees = treeSizes.Select(t =>
        {
            // a bushy tree like EAGLE-2's: node i hangs under node (i − 1) / 3
            var parents = Enumerable.Range(0, t).Select(i => i == 0 ? -1 : (i - 1) / 3).ToArray();
            var depth = new int[t];
            for (int i = 1; i < t; i++) depth[i] = depth[parents[i]] + 1;
            var tokens = Enumerable.Range(0, t).Select(_ => (int)(rng.NextUInt64() % (ulong)vocab)).ToArray();
            return (parents, positions: depth.Select(d => context + d).ToArray(), tokens);
        }).ToArray();
        for (int rep = -2; rep < repeats; rep++)
            for (int i = 0; i < trees.Length; i++)
            {
                var (parents, positions, tokens) = trees[i];
                long t0 = Stopwatch.GetTimestamp();
                mask.Reset(context, parents.Length, context);
                mask.FillTree(parents);
                var hidden = target.Forward(state, cache, tokens, positions, mask);
                target.Head.Compute(hidden, parents.Length, logits);
                cache.Rollback();
                if (rep >= 0) samples[i].Add(Ms(Stopwatch.GetTimestamp() - t0));
            }
        return treeSizes.Select((t, i) => new VerifyTiming(t, Median(samples[i]))).ToList();
    }

    private static float[] RandomFeatures(Rng rng, int n)
    {
        var f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float)(rng.NextDouble() * 2 - 1);
        return f;
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static double Median(List<double> v)
    {
        v.Sort();
        return v.Count == 0 ? 0 : v[v.Count / 2];
    }
}
