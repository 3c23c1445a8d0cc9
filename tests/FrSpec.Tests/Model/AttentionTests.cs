using System.Runtime.Intrinsics;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Tests.Model;

/// <summary>
/// The tiled attention kernels against their promises, on odd shapes (head sizes 24, 64, 128; groups 1–8; prefixes that
/// are not multiples of 16; causal chunks and tree masks; token counts that leave partial tiles): every token's output
/// has the bits of a one-token decode over its visible sequence committed in order (batch invariance); the f32 cache
/// gives the same bits on AVX-512 and AVX2 lanes and stays within 1e-5 of a double-precision softmax attention; the
/// bf16 cache of the fast precision is checked against the same reference on its rounded inputs and on the unrounded ones.
/// </summary>
public class AttentionTests
{
    public static TheoryData<int, int, int, string> Shapes()
    {
        var d = new TheoryData<int, int, int, string>();
        foreach (var (hd, group) in new[] { (64, 4), (64, 1), (128, 8), (24, 5), (64, 3), (128, 2) })
            foreach (int prefix in new[] { 0, 13, 37 })
                foreach (var kind in new[] { "causal", "tree" }) d.Add(hd, group, prefix, kind);
        return d;
    }

    [Theory, MemberData(nameof(Shapes))]
    public void EveryTokenGetsTheBitsOfDecodingItAlone(int hd, int group, int prefix, string kind)
    {
        float[]? first = null;
        foreach (var path in new[] { "avx512", "avx2" })
        {
            var compute = Numerics.KernelPaths.Get(path, Precision.Exact);
            if (compute == null) continue;
            var batch = CheckEveryToken(compute, hd, group, prefix, kind, path,
                (q, keys, values, sequence, g, kvWidth) => Reference(q, keys, values, sequence, g, hd, kvWidth), 1e-5);
            // 16-lane and 8-lane vectors run the same operations element by element: the same bits
            if (first != null) Assert.True(first.AsSpan().SequenceEqual(batch), $"hd {hd} group {group} prefix {prefix} {kind}: {path} differs from avx512");
            first ??= batch;
        }
    }

    /// <summary>
    /// The fast precision's bf16 cache (vdpbf16ps scores and weighted values) on the same shapes: every token has the
    /// bits of decoding it alone, and is within a stated tolerance of a double-precision attention. Against what the
    /// kernel is given — the keys and values as stored (bf16) and the query rounded to bf16 after scaling by 1/√headDim —
    /// within 2^-7·(1 + |expected|), the bound of rounding the probabilities to bf16 for the weighted sum (bf16's unit
    /// roundoff 2^-8 relative each, their sum 1, values within ±2). Against the unrounded inputs within 2^-6·(1 + |expected|).
    /// </summary>
    [Theory, MemberData(nameof(Shapes))]
    public void OnABf16CacheEveryTokenGetsTheBitsOfDecodingItAlone(int hd, int group, int prefix, string kind)
    {
        var compute = Numerics.KernelPaths.Get("generated", Precision.Fast);
        if (compute == null || !KvCache.UsesBf16(compute, DType.BF16, hd)) return; // no vdpbf16ps on this machine: the f32 cache runs
        float scale = 1f / MathF.Sqrt(hd); // the kernel's scale, to the bit: it decides which way q·scale rounds
        float R(float x) => Bf16.ToFloat(Bf16.FromFloat(x));
        CheckEveryToken(compute, hd, group, prefix, kind, "bf16",
            (q, keys, values, sequence, g, kvWidth) =>
            {
                // the query as the kernel rounds it (scaled first), the keys and values as the cache stores them
                var qr = new float[hd];
                for (int d = 0; d < hd; d++) qr[d] = (float)(R(q[d] * scale) / (double)scale);
                return Reference(qr, Array.ConvertAll(keys, R), Array.ConvertAll(values, R), sequence, g, hd, kvWidth);
            }, 1.0 / 128);
        CheckEveryToken(compute, hd, group, prefix, kind, "bf16 vs unrounded",
            (q, keys, values, sequence, g, kvWidth) => Reference(q, keys, values, sequence, g, hd, kvWidth), 1.0 / 64);
    }

    private delegate double[] ReferenceAttention(ReadOnlySpan<float> q, float[] keys, float[] values, int[] sequence, int g, int kvWidth);

    /// <summary>Runs a batch of 21 tokens (causal chunk or tree) over a committed prefix on <paramref name="compute"/>'s
    /// cache type, checks each token against decoding it alone (bits) and the reference (within tolerance·(1 + |e|)),
    /// and returns the batch's output.</summary>
    private static float[] CheckEveryToken(Compute compute, int hd, int group, int prefix, string kind, string path,
        ReferenceAttention reference, double tolerance)
    {
        const int kvHeads = 2, n = 21;
        int heads = group * kvHeads, width = heads * hd, kvWidth = kvHeads * hd;
        string c = $"hd {hd} group {group} prefix {prefix} {kind}";
        var r = new Random(hd * 1000 + group * 100 + prefix);
        var parents = Enumerable.Range(0, n).Select(i => kind == "causal" ? i - 1 : i == 0 ? -1 : (i - 1) / 3).ToArray();
        float[] Rand(int len) => Enumerable.Range(0, len).Select(_ => (float)(r.NextDouble() * 4 - 2)).ToArray();
        var keys = Rand((prefix + n) * kvWidth);
        var values = Rand((prefix + n) * kvWidth);
        var q = Rand(n * width);

        // the batch: the prefix committed, n new tokens pending, one pass under the mask
        var cache = KvCache.For(compute, DType.BF16, 1, kvHeads, hd, prefix + n + 3);
        Fill(cache, keys, values, Enumerable.Range(0, prefix).ToArray(), hd, kvHeads);
        cache.CommitAll();
        Fill(cache, keys, values, Enumerable.Range(prefix, n).ToArray(), hd, kvHeads);
        var mask = kind == "causal" ? AttentionMask.Causal(prefix, n) : AttentionMask.Tree(prefix, parents);
        var batch = new float[n * width];
        Attention.Compute(compute, q, batch, n, heads, kvHeads, hd, cache, 0, mask);

        for (int t = 0; t < n; t++)
        {
            // token t alone: its prefix and ancestors committed in order, itself the one pending slot
            var ancestors = new List<int>();
            for (int a = parents[t]; a >= 0; a = parents[a]) ancestors.Insert(0, prefix + a);
            var alone = KvCache.For(compute, DType.BF16, 1, kvHeads, hd, prefix + n + 3);
            Fill(alone, keys, values, Enumerable.Range(0, prefix).Concat(ancestors).ToArray(), hd, kvHeads);
            alone.CommitAll();
            Fill(alone, keys, values, [prefix + t], hd, kvHeads);
            var one = new float[width];
            Attention.Compute(compute, q.AsSpan(t * width, width).ToArray(), one, 1, heads, kvHeads, hd, alone, 0, AttentionMask.Causal(alone.Count, 1));
            Assert.True(batch.AsSpan(t * width, width).SequenceEqual(one), $"{path} {c}: token {t} differs from decoding it alone");

            var sequence = Enumerable.Range(0, prefix).Concat(ancestors).Append(prefix + t).ToArray();
            for (int h = 0; h < heads; h++)
            {
                var expected = reference(q.AsSpan(t * width + h * hd, hd), keys, values, sequence, h / group, kvWidth);
                for (int d = 0; d < hd; d++)
                    Assert.True(Math.Abs(one[h * hd + d] - expected[d]) <= tolerance * (1 + Math.Abs(expected[d])),
                        $"{path} {c}: token {t} head {h} dim {d}: {one[h * hd + d]} vs {expected[d]}");
            }
        }
        return batch;
    }

    [Fact]
    public void ATokenThatSeesNothingGetsZeros()
    {
        const int hd = 64, kvHeads = 1, heads = 4;
        var cache = new KvCache(1, kvHeads, hd, 8);
        var k = Enumerable.Range(0, hd).Select(i => (float)i).ToArray();
        cache.Write(0, 0, cache.Append(2), k, k);
        cache.Write(0, 0, 1, k, k);
        var mask = new AttentionMask(0, 2, 0);
        mask.Allow(1, 1); // row 0 sees no slot at all
        var output = new float[2 * heads * hd];
        output.AsSpan().Fill(float.NaN);
        Attention.Compute(Compute.Default, Enumerable.Repeat(0.5f, 2 * heads * hd).ToArray(), output, 2, heads, kvHeads, hd, cache, 0, mask);
        Assert.All(output.AsSpan(0, heads * hd).ToArray(), v => Assert.Equal(0f, v));
        for (int h = 0; h < heads; h++) Assert.Equal(k, output.AsSpan((heads + h) * hd, hd).ToArray()); // one visible slot: weight exactly 1
    }

    /// <summary>The softmax's own maximum (<see cref="Ops.Max{TL, TV}"/>, written out on vectors) gives
    /// TensorPrimitives.Max's value on every length and tail, on both widths, with −0/+0 ties, −∞ and NaN anywhere: the
    /// same bits, NaN payloads aside (one NaN per row here, so the payloads agree too, but only NaN-ness is asserted).</summary>
    [Fact]
    public unsafe void TheSoftmaxMaximumIsTensorPrimitivesMaximum()
    {
        var r = new Random(5);
        float[] specials = [0f, -0f, float.NegativeInfinity, float.NaN, -1e-45f, float.MaxValue];
        for (int n = 1; n <= 70; n++)
            for (int trial = 0; trial < 40; trial++)
            {
                var x = new float[n];
                for (int i = 0; i < n; i++) x[i] = trial % 4 >= 2 ? -(float)r.NextDouble() - 1e-3f : (float)(r.NextDouble() * 20 - 10);
                if (trial % 2 == 1) x[r.Next(n)] = specials[r.Next(specials.Length)];
                if (trial % 8 == 3) { x[r.Next(n)] = -0f; x[r.Next(n)] = 0f; } // all others negative: the zeros tie (+0 wins)
                if (trial % 8 == 7) x[r.Next(n)] = -0f; // the only zero is −0
                float expected = System.Numerics.Tensors.TensorPrimitives.Max(x), got16, got8;
                fixed (float* px = x)
                {
                    got16 = Ops.Max<Lanes512, Vector512<float>>(px, n);
                    got8 = Ops.Max<Lanes256, Vector256<float>>(px, n);
                }
                foreach (var (got, width) in new[] { (got16, 16), (got8, 8) })
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(got) || (float.IsNaN(expected) && float.IsNaN(got)),
                        $"n {n} trial {trial}, {width} lanes: {got} vs {expected}");
            }
    }

    /// <summary>The softmax on 16-lane and on 8-lane vectors, called on one machine, gives the same bits (probabilities,
    /// or exponentials and factors) on every length and tail, with prefixes and moved pending slots, −∞ scores (masked
    /// out), all-−∞ rows and rows with one huge score; and its probabilities are within 1e-6 of a double softmax.</summary>
    [Fact]
    public unsafe void TheSoftmaxGivesTheSameBitsOnBothWidths()
    {
        var r = new Random(11);
        const int group = 3;
        foreach (bool withFactors in new[] { false, true })
            for (int length = 1; length <= 53; length++)
                for (int trial = 0; trial < 6; trial++)
                {
                    int prefix = trial % 3 == 0 ? length : r.Next(length + 1), count = length - prefix, stride = length + 7;
                    var scores = new float[group * stride];
                    for (int i = 0; i < scores.Length; i++) scores[i] = (float)(r.NextDouble() * 30 - 15);
                    if (trial == 1) scores[r.Next(length)] = float.NegativeInfinity;
                    if (trial == 2) Array.Fill(scores, float.NegativeInfinity, 0, stride); // head 0 sees nothing
                    if (trial == 4) scores[stride + r.Next(length)] = 1e30f;
                    // the visible pending slots: count of the stride − prefix slots after the prefix, in order
                    var visible = Enumerable.Range(prefix, stride - prefix).OrderBy(_ => r.Next()).Take(count).Order().ToArray();
                    var wide = (float[])scores.Clone();
                    var narrow = (float[])scores.Clone();
                    var factors16 = new float[group];
                    var factors8 = new float[group];
                    fixed (float* pw = wide, pn = narrow, f16 = factors16, f8 = factors8)
                    fixed (int* pv = visible)
                    {
                        Attention.Softmax<Lanes512, Vector512<float>>(pw, stride, group, prefix, pv, count, withFactors ? f16 : null);
                        Attention.Softmax<Lanes256, Vector256<float>>(pn, stride, group, prefix, pv, count, withFactors ? f8 : null);
                    }
                    string where = $"length {length} prefix {prefix} trial {trial} factors {withFactors}";
                    Assert.True(wide.AsSpan().SequenceEqual(narrow), where);
                    Assert.True(factors16.AsSpan().SequenceEqual(factors8), where);
                    for (int h = 0; h < group; h++)
                    {
                        // the reference over the same visible sequence: the prefix, then the visible pending slots
                        var sequence = Enumerable.Range(0, prefix).Concat(visible).Select(s => (double)scores[h * stride + s]).ToArray();
                        double max = sequence.Max();
                        if (double.IsNegativeInfinity(max)) continue;
                        double sum = sequence.Sum(v => Math.Exp(v - max));
                        for (int k = 0; k < length; k++)
                        {
                            double p = wide[h * stride + k] * (withFactors ? factors16[h] : 1.0), expected = Math.Exp(sequence[k] - max) / sum;
                            Assert.True(Math.Abs(p - expected) <= 1e-6, $"{where} head {h} index {k}: {p} vs {expected}");
                        }
                    }
                }
    }

    /// <summary>Appends the keys and values of the given source slots, in order, as pending slots.</summary>
    private static void Fill(KvCache cache, float[] keys, float[] values, int[] sourceSlots, int hd, int kvHeads)
    {
        int first = cache.Append(sourceSlots.Length);
        for (int i = 0; i < sourceSlots.Length; i++)
            for (int g = 0; g < kvHeads; g++)
            {
                int at = (sourceSlots[i] * kvHeads + g) * hd;
                cache.Write(0, g, first + i, keys.AsSpan(at, hd), values.AsSpan(at, hd));
            }
    }

    /// <summary>Softmax attention of one query head over the given slots, in double precision.</summary>
    private static double[] Reference(ReadOnlySpan<float> q, float[] keys, float[] values, int[] slots, int g, int hd, int kvWidth)
    {
        var scores = new double[slots.Length];
        for (int i = 0; i < slots.Length; i++)
        {
            double s = 0;
            for (int d = 0; d < hd; d++) s += (double)q[d] * keys[slots[i] * kvWidth + g * hd + d];
            scores[i] = s / Math.Sqrt(hd);
        }
        double max = scores.Max(), sum = 0;
        for (int i = 0; i < slots.Length; i++) sum += scores[i] = Math.Exp(scores[i] - max);
        var o = new double[hd];
        for (int i = 0; i < slots.Length; i++)
            for (int d = 0; d < hd; d++) o[d] += scores[i] / sum * values[slots[i] * kvWidth + g * hd + d];
        return o;
    }
}
