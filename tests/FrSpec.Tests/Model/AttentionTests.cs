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

    /// <summary>The softmax's own maximum (written out on vectors) gives TensorPrimitives.Max's value on every length
    /// and tail, with −0/+0 ties, −∞ and NaN anywhere.</summary>
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
                float expected = System.Numerics.Tensors.TensorPrimitives.Max(x), got;
                fixed (float* px = x) got = Attention.Max(px, n);
                Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(got) || (float.IsNaN(expected) && float.IsNaN(got)),
                    $"n {n} trial {trial}: {got} vs {expected}");
            }
    }

    /// <summary>Attention's vector rounding of x·factor to bf16 has the bits of <see cref="Bf16.FromFloat"/> of the same
    /// product on every lane and tail: ties to even, NaN, infinities, subnormals, overflow to infinity.</summary>
    [Fact]
    public unsafe void RoundingTheProductToBf16IsFromFloatOfTheProduct()
    {
        var r = new Random(9);
        float[] specials = [0f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e-40f, -3e-39f, float.MaxValue,
            BitConverter.Int32BitsToSingle(0x3F808000), BitConverter.Int32BitsToSingle(0x3F818000), BitConverter.Int32BitsToSingle(0x7F7FFFFF)];
        foreach (float factor in new[] { 1f, 0.125f, 1f / 3, 7.5f })
            for (int n = 0; n <= 50; n++)
            {
                var x = new float[n];
                for (int i = 0; i < n; i++) x[i] = r.Next(3) == 0 ? specials[r.Next(specials.Length)] : BitConverter.Int32BitsToSingle(r.Next());
                var got = new ushort[n + 1];
                fixed (float* px = x) fixed (ushort* pg = got) Bf16Attention.ScaleToBf16(px, factor, pg, n);
                for (int i = 0; i < n; i++) Assert.Equal(Bf16.FromFloat(x[i] * factor), got[i]);
                Assert.Equal(0, got[n]); // nothing written past n
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
