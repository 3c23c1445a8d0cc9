using System.Numerics.Tensors;

namespace FrSpec.Generation;

/// <summary>
/// Turns target logits into the processed distribution HF's sampling uses (temperature, then top-k, then top-p)
/// and draws from it with a seeded generator. Greedy options give argmax. Buffers are reused: no allocation per token.
/// The speculative verifier uses <see cref="Distribution"/> and <see cref="Draw"/> too, so both sample the same p.
/// </summary>
public sealed class Sampler
{
    public SamplingOptions Options { get; }
    public Rng Rng { get; }
    private int[] _order = Array.Empty<int>();
    private float[] _keys = Array.Empty<float>();

    public Sampler(SamplingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Rng = new Rng(options.Seed);
    }

    /// <summary>Next token: argmax when greedy, else a draw from the processed distribution (probs is scratch of vocab size).</summary>
    public int Sample(ReadOnlySpan<float> logits, Span<float> probs)
    {
        if (Options.IsGreedy) return TensorPrimitives.IndexOfMax(logits);
        Distribution(logits, probs);
        return Draw(probs[..logits.Length]);
    }

    /// <summary>The processed distribution p over the vocabulary (sums to 1; zero outside top-k/top-p). Greedy: one-hot argmax.</summary>
    public void Distribution(ReadOnlySpan<float> logits, Span<float> probs)
    {
        int v = logits.Length;
        probs = probs[..v];
        if (Options.IsGreedy)
        {
            probs.Clear();
            probs[TensorPrimitives.IndexOfMax(logits)] = 1f;
            return;
        }
        float inverse = 1f / Options.Temperature;
        if (float.IsFinite(inverse))
        {
            Numerics.Ops.ScaledExp(logits, inverse, probs);
        }
        else
        {
            // A temperature so small that 1/T overflows: the limit distribution, uniform over the largest logits.
            float max = TensorPrimitives.Max(logits);
            for (int i = 0; i < v; i++) probs[i] = logits[i] == max ? 1f : 0f;
        }
        if (Options.TopK > 0 && Options.TopK < v) KeepTopK(probs, Options.TopK);
        Normalize(probs);
        if (Options.TopP < 1f) KeepTopP(probs, Options.TopP);
    }

    private static void Normalize(Span<float> p)
    {
        double sum = 0;
        foreach (var x in p) sum += x;
        TensorPrimitives.Multiply(p, (float)(1.0 / sum), p);
    }

    /// <summary>Zeroes all but the k largest (ties at the k-th value are kept, as HF's threshold rule does).</summary>
    private void KeepTopK(Span<float> p, int k)
    {
        // threshold = k-th largest value, found by sorting a copy of candidate values above a running bound
        var tmp = System.Buffers.ArrayPool<float>.Shared.Rent(p.Length);
        try
        {
            var s = tmp.AsSpan(0, p.Length);
            p.CopyTo(s);
            s.Sort();
            float kth = s[p.Length - k];
            for (int i = 0; i < p.Length; i++) if (p[i] < kth) p[i] = 0f;
        }
        finally { System.Buffers.ArrayPool<float>.Shared.Return(tmp); }
    }

    /// <summary>Nucleus filter on a normalised p: keeps the most probable tokens whose mass reaches topP, renormalises.</summary>
    private void KeepTopP(Span<float> p, float topP)
    {
        if (_order.Length < p.Length) { _order = new int[p.Length]; _keys = new float[p.Length]; }
        // Only tokens above a threshold can be in the nucleus once the mass above it reaches topP; lower it until so.
        float threshold = 1e-4f;
        int count;
        while (true)
        {
            count = 0;
            double mass = 0;
            for (int i = 0; i < p.Length; i++) if (p[i] >= threshold && p[i] > 0) { _order[count++] = i; mass += p[i]; }
            if (mass >= topP || threshold == 0f) break;
            threshold = threshold < 1e-12f ? 0f : threshold / 100f;
        }
        var order = _order.AsSpan(0, count);
        var keys = _keys.AsSpan(0, count);
        for (int i = 0; i < count; i++) keys[i] = -p[order[i]];
        keys.Sort(order); // descending probability; ties end up at the same cut value below, so their order is irrelevant
        double cum = 0;
        int keep = 0;
        while (keep < count)
        {
            cum += p[order[keep]];
            keep++;
            if (cum >= topP) break;
        }
        float cut = p[order[keep - 1]];
        // keep everything at least as probable as the last kept token
        double sum = 0;
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] < cut) p[i] = 0f;
            else sum += p[i];
        }
        TensorPrimitives.Multiply(p, (float)(1.0 / sum), p);
    }

    /// <summary>Draws an index from a distribution that sums to ~1 (inverse CDF; the last positive index absorbs rounding).</summary>
    public int Draw(ReadOnlySpan<float> probs)
    {
        double u = Rng.NextDouble();
        double cum = 0;
        int last = -1;
        for (int i = 0; i < probs.Length; i++)
        {
            float q = probs[i];
            if (q <= 0) continue;
            cum += q;
            last = i;
            if (u < cum) return i;
        }
        return last >= 0 ? last : 0;
    }
}
