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
