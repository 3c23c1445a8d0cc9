using FrSpec.Generation;

namespace FrSpec.Tests.Generation;

public class SamplerTests
{
    private static float[] Logits(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 6 - 3)).ToArray();
    }

    [Fact]
    public void GreedyIsArgmax()
    {
        var l = Logits(1000, 1);
        var s = new Sampler(SamplingOptions.Greedy);
        Assert.Equal(Array.IndexOf(l, l.Max()), s.Sample(l, new float[1000]));
    }

    [Fact]
    public void SameSeedSameDrawsDifferentSeedDifferentDraws()
    {
        var l = Logits(500, 2);
        int[] Draw(ulong seed)
        {
            var s = new Sampler(new SamplingOptions(1f, 0, 1f, seed));
            var p = new float[500];
            return Enumerable.Range(0, 50).Select(_ => s.Sample(l, p)).ToArray();
        }
        Assert.Equal(Draw(5), Draw(5));
        Assert.NotEqual(Draw(5), Draw(6));
    }

    [Fact]
    public void TopKKeepsExactlyTheKLargest()
    {
        var l = Logits(300, 3);
        var s = new Sampler(new SamplingOptions(0.7f, 10, 1f, 1));
        var p = new float[300];
        s.Distribution(l, p);
        var expected = l.Select((v, i) => (v, i)).OrderByDescending(x => x.v).Take(10).Select(x => x.i).OrderBy(i => i);
        Assert.Equal(expected, p.Select((v, i) => (v, i)).Where(x => x.v > 0).Select(x => x.i));
        Assert.Equal(1.0, p.Sum(), 4);
    }

    [Fact]
    public void TopPKeepsTheSmallestSetReachingP()
    {
        var l = Logits(300, 4);
        var full = new float[300];
        new Sampler(new SamplingOptions(1f, 0, 1f, 1)).Distribution(l, full);
        var p = new float[300];
        new Sampler(new SamplingOptions(1f, 0, 0.5f, 1)).Distribution(l, p);
        var sorted = full.Select((v, i) => (v, i)).OrderByDescending(x => x.v).ToList();
        double cum = 0; int k = 0;
        while (cum < 0.5) cum += sorted[k++].v;
        Assert.Equal(k, p.Count(x => x > 0));
        foreach (var (v, i) in sorted.Take(k)) Assert.Equal(v / cum, p[i], 4);
    }

    [Fact]
    public void DrawsFollowTheDistribution()
    {
        var probs = new float[] { 0.1f, 0.6f, 0f, 0.3f };
        var s = new Sampler(new SamplingOptions(1f, 0, 1f, 9));
        var counts = new int[4];
        for (int i = 0; i < 100_000; i++) counts[s.Draw(probs)]++;
        Assert.Equal(0, counts[2]);
        Assert.InRange(counts[1] / 100_000.0, 0.59, 0.61);
        Assert.InRange(counts[3] / 100_000.0, 0.29, 0.31);
    }

    [Fact]
    public void InvalidOptionsAreRejected()
    {
        Assert.Throws<FrSpecException>(() => new Sampler(new SamplingOptions(-1f)));
        Assert.Throws<FrSpecException>(() => new Sampler(new SamplingOptions(1f, 0, 0f)));
        Assert.Throws<FrSpecException>(() => new Sampler(new SamplingOptions(1f, -2)));
    }
}
