using FrSpec.Numerics;

namespace FrSpec.Tests.Numerics;

/// <summary>
/// bf16 weights repacked into panels (the layout of the generated vdpbf16ps panel kernels): the layout itself, products on
/// every kernel path in both precisions against a scalar reference on awkward shapes, batch invariance (including K
/// split into chunks), and LM-head row subsets.
/// </summary>
public class Bf16PanelTests
{
    private static float[] Random(Random r, int count) => Enumerable.Range(0, count).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();

    private static readonly (int Rows, int Cols)[] AwkwardShapes =
        [(1, 1), (1, 2), (15, 3), (16, 32), (17, 33), (37, 70), (48, 129), (63, 64), (64, 31), (65, 200), (67, 333), (130, 96), (200, 1)];

    [Fact]
    public void PackedRowsReadBackAsStored()
    {
        var r = new Random(1);
        foreach (var (rows, cols) in AwkwardShapes)
        {
            using var w = WeightMatrix.FromFloats(Random(r, rows * cols), rows, cols, DType.BF16);
            using var p = w.ToPanels();
            Assert.Equal(WeightLayout.Bf16Panels, p.Layout);
            Assert.Equal(w.ToFloatArray(), p.ToFloatArray());
            Assert.Throws<InvalidOperationException>(() => p.Data);
        }
    }

    [Fact]
    public unsafe void PackingInPlaceGivesTheSameBytesAsPackingACopy()
    {
        var r = new Random(2);
        foreach (var (rows, cols) in new[] { (16, 2), (64, 32), (80, 34), (128, 2048), (144, 6) })
        {
            using var w = WeightMatrix.FromFloats(Random(r, rows * cols), rows, cols, DType.BF16);
            using var copy = w.ToPanels();
            var expected = new ReadOnlySpan<byte>((void*)copy.Address, (int)copy.ByteCount).ToArray();
            Assert.True(w.CanPackPanelsInPlace);
            long before = w.ByteCount;
            w.PackPanelsInPlace();
            Assert.Equal(before, w.ByteCount);
            Assert.Equal(expected, new ReadOnlySpan<byte>((void*)w.Address, (int)w.ByteCount).ToArray());
        }
        using var odd = WeightMatrix.FromFloats(Random(r, 17 * 4), 17, 4, DType.BF16);
        Assert.False(odd.CanPackPanelsInPlace); // would need padding rows: stays row-major
    }

    [Fact]
    public void GatheredRowsOfAPackedMatrixArePackedAndMatchTheRowMajorGather()
    {
        var r = new Random(3);
        using var w = WeightMatrix.FromFloats(Random(r, 200 * 40), 200, 40, DType.BF16);
        using var p = w.ToPanels();
        int[] ids = [199, 0, 64, 63, 17, 130, 5];
        using var g = p.GatherRows(ids);
        using var plain = w.GatherRows(ids);
        Assert.Equal(WeightLayout.Bf16Panels, g.Layout);
        Assert.Equal(plain.ToFloatArray(), g.ToFloatArray());
        Assert.Throws<FrSpecException>(() => p.GatherRows([200]));
    }

    public static TheoryData<string, Precision> Paths()
    {
        var d = new TheoryData<string, Precision>();
        foreach (var p in KernelPaths.Names)
            foreach (var precision in new[] { Precision.Fast, Precision.Exact }) d.Add(p, precision);
        return d;
    }

    [Theory, MemberData(nameof(Paths))]
    public void ProductsMatchTheScalarReferenceOnAwkwardShapes(string path, Precision precision)
    {
        var compute = KernelPaths.Get(path, precision);
        if (compute == null) return; // this CPU lacks the path
        var r = new Random(4);
        // activation rows around the 12-row block (one pass or several), and a K long enough for several chunks
        var cases = new[] { 1, 2, 5, 11, 12, 13, 25, 32 }.SelectMany(n => AwkwardShapes.Where((_, i) => (i + n) % 3 == 0).Select(s => (n, s)))
            .Append((13, (33, 3001))).Append((40, (17, 2048)));
        foreach (var (n, (rows, cols)) in cases)
        {
            using var w0 = WeightMatrix.FromFloats(Random(r, rows * cols), rows, cols, DType.BF16);
            using var w = w0.ToPanels();
            var stored = w0.ToFloatArray();
            var x = Random(r, n * cols);
            var bias = Random(r, rows);
            var y = new float[n * rows];
            MatMul.Multiply(compute, x, n, w, y, bias);
            for (int i = 0; i < n; i++)
                for (int o = 0; o < rows; o++)
                {
                    double s = bias[o], mag = Math.Abs(bias[o]);
                    for (int c = 0; c < cols; c++)
                    {
                        float xv = x[i * cols + c];
                        if (precision == Precision.Fast) xv = Bf16.ToFloat(Bf16.FromFloat(xv));
                        double t = (double)xv * stored[o * cols + c];
                        s += t; mag += Math.Abs(t);
                    }
                    Assert.True(Math.Abs(s - y[i * rows + o]) <= 2e-6 * mag * Math.Sqrt(cols) + 1e-6,
                        $"{path} {precision} n={n} rows={rows} cols={cols} [{i},{o}]: {y[i * rows + o]} vs {s}");
                }
        }
    }

    [Theory, MemberData(nameof(Paths))]
    public void EachRowIsBitIdenticalAloneOrWithUpTo63Others(string path, Precision precision)
    {
        var compute = KernelPaths.Get(path, precision);
        if (compute == null) return;
        var r = new Random(5);
        int rows = 83, cols = 2999; // 1,500 column pairs: several L2-sized K chunks for every batch size above 12
        using var w0 = WeightMatrix.FromFloats(Random(r, rows * cols), rows, cols, DType.BF16);
        using var w = w0.ToPanels();
        var x = Random(r, 64 * cols);
        var single = new float[64 * rows];
        for (int i = 0; i < 64; i++) MatMul.Multiply(compute, x.AsSpan(i * cols, cols), 1, w, single.AsSpan(i * rows, rows));
        foreach (int n in new[] { 2, 5, 6, 7, 8, 11, 12, 13, 24, 25, 31, 64 })
        {
            var y = new float[n * rows];
            MatMul.Multiply(compute, x, n, w, y);
            Assert.Equal(single.AsSpan(0, n * rows).ToArray(), y);
        }
    }

    [Theory, MemberData(nameof(Paths))]
    public void OneBlockProductsGiveTheSameBitsWhateverThePrefetchDistanceAndPoolChunks(string path, Precision precision)
    {
        var compute = KernelPaths.Get(path, precision);
        if (compute == null) return;
        var r = new Random(11);
        // q/k/v-like matrices sharing an input (a short last panel, matrices smaller than some prefetch distances), split
        // into pool chunks of one panel up to half the panels
        int cols = 2999;
        var ws = new[] { 96, 40, 17 }.Select(h => { using var m = WeightMatrix.FromFloats(Random(r, h * cols), h, cols, DType.BF16); return m.ToPanels(); }).ToArray();
        long ahead = PanelProducts.PrefetchAhead;
        int chunks = PanelProducts.OneBlockChunksPerThread;
        try
        {
            foreach (int n in new[] { 1, 5, 12 })
            {
                var x = Random(r, n * cols);
                float[][] Run()
                {
                    var y = ws.Select(w => new float[n * w.Rows]).ToArray();
                    MatMul.MultiplyShared(compute, x, n, ws[0], y[0], default, ws[1], y[1], default, ws[2], y[2], default);
                    return y;
                }
                PanelProducts.PrefetchAhead = 0;
                var expected = Run();
                // one matrix alone matches its part of the shared product (and, through the reference test, the definition)
                var alone = new float[n * ws[1].Rows];
                MatMul.Multiply(compute, x, n, ws[1], alone);
                Assert.Equal(alone, expected[1]);
                foreach (long a in new long[] { 64, 4096, 6000, 65536, 1 << 20 })
                    foreach (int c in new[] { 1, 4, 64 })
                    {
                        PanelProducts.PrefetchAhead = a;
                        PanelProducts.OneBlockChunksPerThread = c;
                        var got = Run();
                        for (int j = 0; j < ws.Length; j++) Assert.True(expected[j].AsSpan().SequenceEqual(got[j]), $"{path} n={n} ahead={a} chunks={c} matrix {j}");
                    }
                PanelProducts.PrefetchAhead = ahead;
                PanelProducts.OneBlockChunksPerThread = chunks;
            }
        }
        finally
        {
            PanelProducts.PrefetchAhead = ahead;
            PanelProducts.OneBlockChunksPerThread = chunks;
            foreach (var w in ws) w.Dispose();
        }
    }

    [Theory, MemberData(nameof(Paths))]
    public void ASharedInputProductGivesEachMatrixTheBitsOfItsOwnProduct(string path, Precision precision)
    {
        var compute = KernelPaths.Get(path, precision);
        if (compute == null) return;
        var r = new Random(7);
        // q/k/v-like (three heights, one with a padded last panel) and gate/up-like (two), with and without biases
        foreach (var (n, cols, heights, biased) in new[] { (1, 70, new[] { 64, 17, 33 }, true), (13, 129, new[] { 96, 32, 32 }, false),
                     (7, 2999, new[] { 40, 67 }, true), (67, 64, new[] { 65, 1 }, false), (32, 33, new[] { 16, 48, 3 }, true) })
        {
            var ws = heights.Select(h => { using var m = WeightMatrix.FromFloats(Random(r, h * cols), h, cols, DType.BF16); return m.ToPanels(); }).ToArray();
            try
            {
                var x = Random(r, n * cols);
                var biases = heights.Select(h => biased ? Random(r, h) : null).ToArray();
                var expected = heights.Select((h, j) => { var y = new float[n * h]; MatMul.Multiply(compute, x, n, ws[j], y, biases[j]); return y; }).ToArray();
                var got = heights.Select(h => new float[n * h]).ToArray();
                if (ws.Length == 3) MatMul.MultiplyShared(compute, x, n, ws[0], got[0], biases[0], ws[1], got[1], biases[1], ws[2], got[2], biases[2]);
                else MatMul.MultiplyShared(compute, x, n, ws[0], got[0], biases[0], ws[1], got[1], biases[1]);
                for (int j = 0; j < ws.Length; j++) Assert.Equal(expected[j], got[j]);
            }
            finally { foreach (var w in ws) w.Dispose(); }
        }
    }

    [Theory]
    [InlineData(Precision.Fast)]
    [InlineData(Precision.Exact)]
    public void AnLmHeadSubsetGivesTheFullHeadsLogitsForItsRows(Precision precision)
    {
        var compute = KernelPaths.Get("generated", precision) ?? KernelPaths.Get("portable", precision)!;
        var r = new Random(6);
        int vocab = 300, hidden = 96, n = 8;
        using var full0 = WeightMatrix.FromFloats(Random(r, vocab * hidden), vocab, hidden, DType.BF16);
        using var full = full0.ToPanels();
        int[] ids = Enumerable.Range(0, 67).Select(i => (i * 37 + 11) % vocab).Distinct().ToArray();
        using var subset = full.GatherRows(ids);
        var x = Random(r, n * hidden);
        var all = new float[n * vocab];
        var some = new float[n * ids.Length];
        MatMul.Multiply(compute, x, n, full, all);
        MatMul.Multiply(compute, x, n, subset, some);
        for (int i = 0; i < n; i++)
            for (int k = 0; k < ids.Length; k++) Assert.Equal(all[i * vocab + ids[k]], some[i * ids.Length + k]);
    }
}
