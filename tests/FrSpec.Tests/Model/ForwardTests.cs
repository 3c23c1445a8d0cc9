using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Synthesis;

namespace FrSpec.Tests.Model;

public class ForwardTests
{
    public static TheoryData<string> Families => new() { "llama", "qwen" };

    private static SynthSpec Spec(string family) => family switch
    {
        "llama" => TestModels.TinyLlama(),
        // Llama with attention_bias (q/k/v/o) and mlp_bias (gate/up/down)
        "llama-bias" => TestModels.TinyLlama() with { AttentionBias = true, MlpBias = true },
        "mistral" => TestModels.TinyLlama() with { Family = "mistral", Llama3RopeFactor = null, TieWordEmbeddings = false, SlidingWindow = 16 },
        _ => TestModels.TinyQwen(),
    };

    private static int[] Tokens(int n, int vocab, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => r.Next(vocab)).ToArray();
    }

    private static float[] LogitsOf(Transformer m, ReadOnlySpan<float> hidden, int row)
    {
        int h = m.Config.HiddenSize;
        var logits = new float[m.Config.VocabSize];
        m.Head.Compute(hidden.Slice(row * h, h), 1, logits);
        return logits;
    }

    private static float MaxDiff(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs(p.First - p.Second));

    [Theory, MemberData(nameof(Families)), InlineData("llama-bias"), InlineData("mistral")]
    public void PrefillAndDecodeMatchScalarReference(string family)
    {
        string dir = TestModels.Dir(Spec(family));
        var reference = new ReferenceTransformer(dir).Logits(Tokens(12, 300, 7));
        using var m = Transformer.Load(dir);
        var st = m.CreateState();
        var tokens = Tokens(12, 300, 7);

        // prefill all 12 at once
        var cache = m.CreateCache(32);
        var h = m.Forward(st, cache, tokens, Enumerable.Range(0, 12).ToArray()).ToArray();
        cache.CommitAll();
        for (int t = 0; t < 12; t++) Assert.True(MaxDiff(LogitsOf(m, h, t), reference[t]) <= 1e-4f, $"prefill position {t}");

        // decode one at a time
        var cache2 = m.CreateCache(32);
        for (int t = 0; t < 12; t++)
        {
            var ht = m.Forward(st, cache2, tokens.AsSpan(t, 1), new[] { t }).ToArray();
            cache2.CommitAll();
            Assert.True(MaxDiff(LogitsOf(m, ht, 0), reference[t]) <= 1e-4f, $"decode position {t}");
        }
        // logits are not degenerate: a clear winner over a spread of values
        var l = reference[^1];
        Assert.True(l.Max() - l.Average() > 1.0f);
    }

    [Fact]
    public void Bf16AndF16WeightsStayCloseToF32()
    {
        var spec = TestModels.TinyLlama();
        var tokens = Tokens(8, 300, 3);
        float[] Last(DType t)
        {
            // the exact precision: this test measures weight rounding alone (the fast one's error has FastPrecisionErrorTests)
            using var m = Transformer.Load(TestModels.Dir(spec, t), EngineOptions.Default with { Precision = Precision.Exact });
            var st = m.CreateState();
            var c = m.CreateCache(16);
            return LogitsOf(m, m.Forward(st, c, tokens, Enumerable.Range(0, 8).ToArray()).ToArray(), 7);
        }
        var f32 = Last(DType.F32);
        Assert.True(MaxDiff(f32, Last(DType.BF16)) < 0.15f);
        Assert.True(MaxDiff(f32, Last(DType.F16)) < 0.02f);
    }

    [Theory, MemberData(nameof(Families))]
    public void ChainThroughTreeMaskEqualsSequentialDecoding(string family)
    {
        using var m = Transformer.Load(TestModels.Dir(Spec(family)));
        var st = m.CreateState();
        var tokens = Tokens(10, 300, 11);
        var cache = m.CreateCache(32);
        m.Forward(st, cache, tokens.AsSpan(0, 4), new[] { 0, 1, 2, 3 });
        cache.CommitAll();
        // remaining 6 as a "tree" whose parents form a chain
        var parents = new[] { -1, 0, 1, 2, 3, 4 };
        var mask = AttentionMask.Tree(cache.Length, parents);
        var h = m.Forward(st, cache, tokens.AsSpan(4), new[] { 4, 5, 6, 7, 8, 9 }, mask).ToArray();

        var seq = m.CreateCache(32);
        for (int t = 0; t < 10; t++)
        {
            var ht = m.Forward(st, seq, tokens.AsSpan(t, 1), new[] { t }).ToArray();
            seq.CommitAll();
            if (t >= 4) Assert.True(MaxDiff(LogitsOf(m, h, t - 4), LogitsOf(m, ht, 0)) <= 1e-4f, $"position {t}");
        }
    }

    [Theory, MemberData(nameof(Families))]
    public void EachTreeBranchGetsTheLogitsItWouldGetAlone(string family)
    {
        using var m = Transformer.Load(TestModels.Dir(Spec(family)));
        var st = m.CreateState();
        var prefix = Tokens(5, 300, 21);
        // tree: root r; branch A: r→a1→a2; branch B: r→b1→b2→b3; branch C: r→a1→c2
        int[] treeTokens = [17, 101, 102, 201, 202, 203, 150];
        int[] parents = [-1, 0, 1, 0, 3, 4, 1];
        int[] depth = [0, 1, 2, 1, 2, 3, 2];
        var cache = m.CreateCache(64);
        m.Forward(st, cache, prefix, Enumerable.Range(0, 5).ToArray());
        cache.CommitAll();
        var h = m.Forward(st, cache, treeTokens, depth.Select(d => 5 + d).ToArray(), AttentionMask.Tree(cache.Length, parents)).ToArray();

        for (int node = 0; node < treeTokens.Length; node++)
        {
            var path = new List<int>();
            for (int v = node; v >= 0; v = parents[v]) path.Insert(0, treeTokens[v]);
            var alone = m.CreateCache(64);
            var seq = prefix.Concat(path).ToArray();
            var ha = m.Forward(st, alone, seq, Enumerable.Range(0, seq.Length).ToArray()).ToArray();
            Assert.True(MaxDiff(LogitsOf(m, h, node), LogitsOf(m, ha, seq.Length - 1)) <= 1e-4f, $"node {node}");
        }
    }

    [Fact]
    public void CommitKeepsTheAcceptedPathAndRollbackDropsEverything()
    {
        using var m = Transformer.Load(TestModels.Dir(TestModels.TinyLlama()));
        var st = m.CreateState();
        var prefix = Tokens(6, 300, 5);
        int[] treeTokens = [40, 41, 42, 43, 44];
        int[] parents = [-1, 0, 0, 2, 3];  // root → 41 ; root → 42 → 43 → 44
        int[] depth = [0, 1, 1, 2, 3];
        var cache = m.CreateCache(64);
        m.Forward(st, cache, prefix, Enumerable.Range(0, 6).ToArray());
        cache.CommitAll();

        // rollback: the cache is as before, continuing gives the same as never having run the tree
        m.Forward(st, cache, treeTokens, depth.Select(d => 6 + d).ToArray(), AttentionMask.Tree(cache.Length, parents));
        Assert.Equal(5, cache.Pending);
        cache.Rollback();
        Assert.Equal(6, cache.Length);
        var afterRollback = m.Forward(st, cache, new[] { 99 }, new[] { 6 }).ToArray();
        cache.Rollback();

        var fresh = m.CreateCache(64);
        var hf = m.Forward(st, fresh, prefix.Append(99).ToArray(), Enumerable.Range(0, 7).ToArray()).ToArray();
        Assert.True(MaxDiff(LogitsOf(m, afterRollback, 0), LogitsOf(m, hf, 6)) <= 1e-4f);

        // commit the path root → 42 → 43 → 44 (nodes 0, 2, 3, 4) and continue with one more token
        m.Forward(st, cache, treeTokens, depth.Select(d => 6 + d).ToArray(), AttentionMask.Tree(cache.Length, parents));
        cache.Commit(new[] { 0, 2, 3, 4 });
        Assert.Equal(10, cache.Count);
        Assert.Equal(0, cache.Pending);
        var next = m.Forward(st, cache, new[] { 77 }, new[] { 10 }).ToArray();
        cache.CommitAll();

        var seq = prefix.Concat(new[] { 40, 42, 43, 44, 77 }).ToArray();
        var reference = new ReferenceTransformer(TestModels.Dir(TestModels.TinyLlama())).Logits(seq);
        Assert.True(MaxDiff(LogitsOf(m, next, 0), reference[^1]) <= 1e-4f);
    }

    [Fact]
    public void CommitRejectsUnorderedOrOutOfRangeIndices()
    {
        var cache = new KvCache(1, 1, 4, 16);
        typeof(KvCache).GetMethod("Append", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.Invoke(cache, new object[] { 3 });
        Assert.Throws<ArgumentException>(() => cache.Commit(new[] { 2, 1 }));
        Assert.Throws<ArgumentException>(() => cache.Commit(new[] { 3 }));
        cache.Commit(new[] { 0, 2 });
        Assert.Equal(2, cache.Count);
    }

    [Fact]
    public void ShardedModelLoadsAndComputesTheSameAsSingleFile()
    {
        var spec = TestModels.TinyQwen();
        string single = TestModels.Dir(spec);
        string sharded = TestModels.NewTempDir();
        ModelSynthesizer.Write(spec, sharded, DType.F32, 1, maxShardBytes: 100_000);
        Assert.True(File.Exists(Path.Combine(sharded, "model.safetensors.index.json")));
        Assert.True(Directory.GetFiles(sharded, "model-*-of-*.safetensors").Length > 2);
        var tokens = Tokens(6, 300, 9);
        float[] Run(string d)
        {
            using var m = Transformer.Load(d);
            var st = m.CreateState();
            var c = m.CreateCache(8);
            return LogitsOf(m, m.Forward(st, c, tokens, Enumerable.Range(0, 6).ToArray()).ToArray(), 5);
        }
        Assert.Equal(Run(single), Run(sharded));
    }

    [Fact]
    public void SameSeedSameBytesDifferentSeedDifferentBytes()
    {
        var spec = TestModels.TinyLlama(100);
        string a = TestModels.NewTempDir(), b = TestModels.NewTempDir(), c = TestModels.NewTempDir();
        ModelSynthesizer.Write(spec, a, DType.BF16, 42);
        ModelSynthesizer.Write(spec, b, DType.BF16, 42);
        ModelSynthesizer.Write(spec, c, DType.BF16, 43);
        byte[] Bytes(string d) => File.ReadAllBytes(Path.Combine(d, "model.safetensors"));
        Assert.Equal(Bytes(a), Bytes(b));
        Assert.NotEqual(Bytes(a), Bytes(c));
        Assert.Equal(File.ReadAllText(Path.Combine(a, "config.json")), File.ReadAllText(Path.Combine(b, "config.json")));
    }
}
