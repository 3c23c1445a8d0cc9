using FrSpec.Numerics;

namespace FrSpec.Tests.Numerics;

/// <summary>Every managed kernel path (portable, AVX2, AVX-512) and weight type against a scalar double-precision reference, in
/// the exact precision (fp32 activations); the fast precision has FastPrecisionMatMulTests.</summary>
public class MatMulTests
{
    public static TheoryData<Isa, DType, int, int, int> Cases()
    {
        var d = new TheoryData<Isa, DType, int, int, int>();
        foreach (Isa isa in Enum.GetValues<Isa>())
            foreach (DType t in Enum.GetValues<DType>().Where(t => !DTypeInfo.IsQuantized(t))) // quantized types have their own tests
                foreach (var (n, rows, cols) in new[] { (1, 37, 70), (1, 64, 2048), (2, 9, 33), (3, 12, 48), (5, 7, 129), (8, 21, 256) })
                    d.Add(isa, t, n, rows, cols);
        return d;
    }

    [Theory, MemberData(nameof(Cases))]
    public void MatchesScalarReference(Isa isa, DType type, int n, int rows, int cols)
    {
        if (!MatMul.IsSupported(isa)) return; // this CPU lacks the path; the others still run
        var r = new Random(rows * 1000 + cols + n);
        var wf = Enumerable.Range(0, rows * cols).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        var x = Enumerable.Range(0, n * cols).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        var bias = Enumerable.Range(0, rows).Select(_ => (float)r.NextDouble()).ToArray();
        using var w = WeightMatrix.FromFloats(wf, rows, cols, type);
        var exact = w.ToFloatArray(); // weights as stored (after rounding to the type)
        foreach (bool withBias in new[] { false, true })
        {
            var y = new float[n * rows];
            MatMul.Multiply(Compute.Create(EngineOptions.Default with { Isa = isa, Precision = Precision.Exact }), x, n, w, y, withBias ? bias : default);
            for (int i = 0; i < n; i++)
                for (int o = 0; o < rows; o++)
                {
                    double s = withBias ? bias[o] : 0;
                    for (int c = 0; c < cols; c++) s += (double)x[i * cols + c] * exact[o * cols + c];
                    Assert.True(Math.Abs(s - y[i * rows + o]) <= 1e-4 * Math.Sqrt(cols), $"{isa} {type} n={n} row {i} col {o}: {y[i * rows + o]} vs {s}");
                }
        }
    }

    [Fact]
    public void GatherRowsCopiesTheChosenRowsInOrder()
    {
        var wf = Enumerable.Range(0, 5 * 3).Select(i => (float)i).ToArray();
        using var w = WeightMatrix.FromFloats(wf, 5, 3, DType.BF16);
        using var g = w.GatherRows(new[] { 4, 0, 2 });
        Assert.Equal(new float[] { 12, 13, 14, 0, 1, 2, 6, 7, 8 }, g.ToFloatArray());
        Assert.Throws<FrSpecException>(() => w.GatherRows(new[] { 5 }));
    }

    [Fact]
    public void Bf16RoundsToNearestEven()
    {
        Assert.Equal(1f, Bf16.ToFloat(Bf16.FromFloat(1f)));
        Assert.Equal(0x3F80, Bf16.FromFloat(BitConverter.Int32BitsToSingle(0x3F808000))); // tie → even
        Assert.Equal(0x3F82, Bf16.FromFloat(BitConverter.Int32BitsToSingle(0x3F818000))); // tie → even (up)
        Assert.True(float.IsNaN(Bf16.ToFloat(Bf16.FromFloat(float.NaN))));
    }
}

/// <summary>A row's result must not depend on how many rows are multiplied with it (tree pass = decode, bit for bit).</summary>
public class MatMulBatchInvarianceTests
{
    [Theory]
    [InlineData(Isa.Avx2, DType.BF16)]
    [InlineData(Isa.Avx512, DType.BF16)]
    [InlineData(Isa.Avx2, DType.F16)]
    [InlineData(Isa.Avx512, DType.F16)]
    [InlineData(Isa.Avx2, DType.F32)]
    [InlineData(Isa.Avx512, DType.F32)]
    public void EachRowIsBitIdenticalToASingleRowProduct(Isa isa, DType type)
    {
        if (!MatMul.IsSupported(isa)) return;
        var r = new Random(5);
        int rows = 45, cols = 200;
        using var w = WeightMatrix.FromFloats(Enumerable.Range(0, rows * cols).Select(_ => (float)r.NextDouble() - 0.5f).ToArray(), rows, cols, type);
        foreach (int n in new[] { 2, 3, 4, 5, 7, 8, 12 })
        {
            var x = Enumerable.Range(0, n * cols).Select(_ => (float)r.NextDouble() - 0.5f).ToArray();
            var y = new float[n * rows];
            MatMul.Multiply(Compute.Create(EngineOptions.Default with { Isa = isa, Precision = Precision.Exact }), x, n, w, y);
            for (int i = 0; i < n; i++)
            {
                var yi = new float[rows];
                MatMul.Multiply(Compute.Create(EngineOptions.Default with { Isa = isa, Precision = Precision.Exact }), x.AsSpan(i * cols, cols), 1, w, yi);
                Assert.Equal(yi, y.AsSpan(i * rows, rows).ToArray());
            }
        }
    }
}
