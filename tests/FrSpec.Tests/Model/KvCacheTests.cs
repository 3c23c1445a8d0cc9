using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Tests.Model;

/// <summary>
/// The KV cache in both element types: which one a model's compute picks, and that writes, commits of a tree path,
/// rollbacks and truncation keep every slot's key and value (bf16: rounded to nearest even once, then moved exactly).
/// </summary>
public class KvCacheTests
{
    [Fact]
    public void TheFastPrecisionOnVdpbf16psKernelsStoresBf16ForReducedWeightsAndEverythingElseF32()
    {
        var exact = Numerics.KernelPaths.Get("avx512", Precision.Exact) ?? Numerics.KernelPaths.Get("portable", Precision.Exact)!;
        Assert.False(KvCache.For(exact, DType.BF16, 1, 1, 64, 8).IsBf16);
        Assert.False(KvCache.For(Numerics.KernelPaths.Get("portable", Precision.Fast)!, DType.BF16, 1, 1, 64, 8).IsBf16); // no code generation
        var fast = Numerics.KernelPaths.Get("generated", Precision.Fast);
        if (fast?.Generated?.Bf16Panels == null) return; // no AVX512_BF16 here: nothing stores bf16
        foreach (var weights in new[] { DType.BF16, DType.F16, DType.Q8_0, DType.Q4_K })
        {
            var cache = KvCache.For(fast, weights, 1, 1, 64, 8);
            Assert.True(cache.IsBf16);
            Assert.Equal(4 * 64, cache.BytesPerSlot); // half of f32's
        }
        Assert.False(KvCache.For(fast, DType.F32, 1, 1, 64, 8).IsBf16); // f32 models compute as in the exact precision
        Assert.False(KvCache.For(fast, DType.BF16, 1, 1, 63, 8).IsBf16); // an odd head size has no dimension pairs
        Assert.False(KvCache.For(fast.WithPrecision(Precision.Exact), DType.BF16, 1, 1, 64, 8).IsBf16);
    }

    public static TheoryData<bool, int> Layouts() => new() { { false, 64 }, { false, 24 }, { true, 64 }, { true, 24 }, { true, 128 } };

    [Theory, MemberData(nameof(Layouts))]
    public void CommittingATreePathKeepsItsSlotsInOrder(bool bf16, int hd)
    {
        var compute = bf16 ? Numerics.KernelPaths.Get("generated", Precision.Fast) : Numerics.KernelPaths.Get("portable", Precision.Exact);
        if (compute == null || KvCache.UsesBf16(compute, DType.BF16, hd) != bf16) return; // this machine cannot store bf16
        const int layers = 2, kvHeads = 3, prefix = 15, pending = 21;
        var r = new Random(hd);
        // key/value of (layer, head, token), distinct everywhere; the stored copy is rounded once in a bf16 cache
        var k = new float[layers, kvHeads, prefix + pending][];
        var v = new float[layers, kvHeads, prefix + pending][];
        float Stored(float x) => bf16 ? Bf16.ToFloat(Bf16.FromFloat(x)) : x;
        var cache = KvCache.For(compute, DType.BF16, layers, kvHeads, hd, prefix + pending + 5);
        void Write(int first, int count)
        {
            int at = cache.Append(count);
            Assert.Equal(first, at);
            for (int t = first; t < first + count; t++)
                for (int l = 0; l < layers; l++)
                    for (int h = 0; h < kvHeads; h++)
                    {
                        k[l, h, t] = Enumerable.Range(0, hd).Select(_ => (float)(r.NextDouble() * 8 - 4)).ToArray();
                        v[l, h, t] = Enumerable.Range(0, hd).Select(_ => (float)(r.NextDouble() * 8 - 4)).ToArray();
                        cache.Write(l, h, t, k[l, h, t], v[l, h, t]);
                    }
        }
        void Expect(int slot, int token)
        {
            for (int l = 0; l < layers; l++)
                for (int h = 0; h < kvHeads; h++)
                    for (int d = 0; d < hd; d++)
                    {
                        Assert.Equal(Stored(k[l, h, token][d]), cache.Key(l, h, slot, d));
                        Assert.Equal(Stored(v[l, h, token][d]), cache.Value(l, h, slot, d));
                    }
        }

        Write(0, prefix);
        cache.CommitAll();
        Write(prefix, pending);
        // an accepted path whose slots move across 16-slot key blocks and between even and odd halves of value pairs
        int[] path = [0, 2, 3, 6, 11, 17];
        cache.Commit(path);
        Assert.Equal(prefix + path.Length, cache.Count);
        for (int s = 0; s < prefix; s++) Expect(s, s);
        for (int j = 0; j < path.Length; j++) Expect(prefix + j, prefix + path[j]);

        // a rolled-back pass leaves the committed slots alone, also the one sharing a value pair with its first slot
        int count = cache.Count;
        Assert.Equal(1, count % 2);
        cache.Append(4);
        for (int l = 0; l < layers; l++)
            for (int h = 0; h < kvHeads; h++) cache.Write(l, h, count, new float[hd], new float[hd]);
        cache.Rollback();
        Assert.Equal(count, cache.Length);
        Expect(count - 1, prefix + path[^1]);
        // a truncation forgets the tail
        cache.Truncate(prefix + 2);
        Assert.Equal(prefix + 2, cache.Length);
        for (int s = 0; s < prefix; s++) Expect(s, s);
        Expect(prefix + 1, prefix + path[1]);
    }
}
