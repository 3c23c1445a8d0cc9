using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Synthesis;

namespace FrSpec.Tests.Model;

/// <summary>
/// A tree pass must give every node the bits that decoding its path one token at a time gives (what keeps greedy
/// speculative output identical to vanilla), and so must every chunking of a prefill: the matrix products, attention
/// over transposed key blocks (in tiles of tokens), norms and activations all batch-invariant. Contexts cross the 16-, 32- and 64-slot key blocks; shapes include query groups
/// that are not a multiple of 4 and head sizes that are not a multiple of the vector width.
/// </summary>
public class BatchInvariantForwardTests
{
    private static SynthSpec Shape(string name) => name switch
    {
        "llama" => TestModels.TinyLlama(),   // group 2, head 16
        "qwen" => TestModels.TinyQwen(),     // group 4, head 16
        // group 5, head 24; 256 vocabulary rows and a 176-wide MLP repack into panels in place
        _ => TestModels.TinyLlama(256) with { HiddenSize = 120, Heads = 5, KvHeads = 1, IntermediateSize = 176 },
    };

    public static TheoryData<string, DType, Precision> Cases()
    {
        var d = new TheoryData<string, DType, Precision>();
        foreach (var shape in new[] { "llama", "qwen", "awkward" })
            foreach (var type in new[] { DType.BF16, DType.F32 })
                foreach (var precision in new[] { Precision.Fast, Precision.Exact }) d.Add(shape, type, precision);
        return d;
    }

    [Theory, MemberData(nameof(Cases))]
    public void EveryTreeNodeGetsTheBitsOfDecodingItsPath(string shape, DType type, Precision precision)
    {
        using var m = Transformer.Load(TestModels.Dir(Shape(shape), type), EngineOptions.Default with { Precision = precision });
        int hidden = m.Config.HiddenSize, vocab = m.Config.VocabSize;
        var r = new Random(17);
        foreach (int prefixLength in new[] { 13, 37, 63 })
        {
            var prefix = Enumerable.Range(0, prefixLength).Select(_ => r.Next(vocab)).ToArray();
            int[] parents = [-1, 0, 1, 0, 2, 4, 3, 5, 1];
            var tokens = parents.Select(_ => r.Next(vocab)).ToArray();
            var depth = new int[parents.Length];
            for (int i = 1; i < parents.Length; i++) depth[i] = depth[parents[i]] + 1;

            var state = m.CreateState();
            var cache = m.CreateCache(128);
            m.Forward(state, cache, prefix, Enumerable.Range(0, prefixLength).ToArray());
            cache.CommitAll();
            var tree = m.Forward(state, cache, tokens, depth.Select(dp => prefixLength + dp).ToArray(), AttentionMask.Tree(cache.Length, parents)).ToArray();

            for (int node = 0; node < parents.Length; node++)
            {
                var path = new List<int>();
                for (int v = node; v >= 0; v = parents[v]) path.Insert(0, v);
                var alone = m.CreateCache(128);
                m.Forward(state, alone, prefix, Enumerable.Range(0, prefixLength).ToArray());
                alone.CommitAll();
                float[] last = [];
                foreach (int v in path)
                {
                    last = m.Forward(state, alone, [tokens[v]], [prefixLength + depth[v]]).ToArray();
                    alone.CommitAll();
                }
                Assert.True(tree.AsSpan(node * hidden, hidden).SequenceEqual(last), $"{shape} {type} {precision} prefix {prefixLength}: node {node} differs from decoding its path");
            }
        }
    }

    [Theory, MemberData(nameof(Cases))]
    public void EveryPrefillChunkingGivesTheBitsOfDecodingOneTokenAtATime(string shape, DType type, Precision precision)
    {
        using var m = Transformer.Load(TestModels.Dir(Shape(shape), type), EngineOptions.Default with { Precision = precision });
        int hidden = m.Config.HiddenSize, vocab = m.Config.VocabSize, length = 45;
        var r = new Random(29);
        var tokens = Enumerable.Range(0, length).Select(_ => r.Next(vocab)).ToArray();
        var state = m.CreateState();

        // the reference: one token per pass, every earlier token committed
        var decoded = new float[length * hidden];
        var cache = m.CreateCache(64);
        for (int t = 0; t < length; t++)
        {
            m.Forward(state, cache, [tokens[t]], [t]).CopyTo(decoded.AsSpan(t * hidden));
            cache.CommitAll();
        }
        // chunkings whose tiles split the causal rows at other places (one pass; odd chunk sizes)
        foreach (var chunks in new[] { new[] { 45 }, [5, 13, 27], [17, 1, 27], [31, 14] })
        {
            cache.Clear();
            int at = 0;
            foreach (int size in chunks)
            {
                var h = m.Forward(state, cache, tokens.AsSpan(at, size), Enumerable.Range(at, size).ToArray());
                cache.CommitAll();
                for (int t = 0; t < size; t++)
                    Assert.True(h.Slice(t * hidden, hidden).SequenceEqual(decoded.AsSpan((at + t) * hidden, hidden)),
                        $"{shape} {type} {precision} chunks {string.Join('+', chunks)}: token {at + t} differs from decoding one token at a time");
                at += size;
            }
        }
    }
}
