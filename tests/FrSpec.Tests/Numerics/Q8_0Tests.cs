using FrSpec.Numerics;
using FrSpec.Numerics.CodeGen;
using FrSpec.Numerics.Quantized;

namespace FrSpec.Tests.Numerics;

/// <summary>The Q8_0 block format and the int8 products of the fast precision on every kernel path.</summary>
public unsafe class Q8_0Tests
{
    private static float[] Random(Random r, int count, float scale = 1) => Enumerable.Range(0, count).Select(_ => (float)(r.NextDouble() * 2 - 1) * scale).ToArray();

    [Fact]
    public void QuantizesAsGgmlDoes()
    {
        var x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = (j - 16) * 0.5f; // max |x| = 8 at j = 0
        var bytes = new byte[34];
        Q8_0.Quantize(x, bytes);
        float d = (float)BitConverter.ToHalf(bytes, 0);
        Assert.Equal((float)(Half)(8f / 127f), d);
        Assert.Equal(-127, (sbyte)bytes[2]);             // x = -8
        Assert.Equal(0, (sbyte)bytes[2 + 16]);           // x = 0
        Assert.Equal((sbyte)MathF.Round(0.5f * 127f / 8f, MidpointRounding.AwayFromZero), (sbyte)bytes[2 + 17]);
        var zeros = new byte[34];
        Q8_0.Quantize(new float[32], zeros);               // an all-zero block: d = 0, q = 0
        Assert.All(zeros, b => Assert.Equal(0, b));
    }

    [Fact]
    public void DequantizeInvertsQuantizeWithinHalfAStep()
    {
        var r = new Random(1);
        var x = Random(r, 32 * 7, 3);
        var bytes = FrSpec.Numerics.Convert.ToBytes(x, DType.Q8_0);
        Assert.Equal(7 * 34, bytes.Length);
        var back = new float[x.Length];
        fixed (byte* p = bytes) FrSpec.Numerics.Convert.ToFloat(DType.Q8_0, p, back);
        for (int b = 0; b < 7; b++)
        {
            float d = (float)BitConverter.ToHalf(bytes, b * 34);
            for (int j = 0; j < 32; j++)
            {
                int k = b * 32 + j;
                Assert.Equal(d * (sbyte)bytes[b * 34 + 2 + j], back[k]);
                Assert.True(Math.Abs(back[k] - x[k]) <= 0.5 * d * 1.01 + 1e-3 * Math.Abs(x[k]), $"{k}: {back[k]} vs {x[k]}");
            }
        }
        Assert.Throws<ArgumentException>(() => Q8_0.Quantize(new float[33], new byte[68]));
    }

    public static TheoryData<string> Paths() => new() { "generated", "avx512", "avx2", "portable" };

    /// <summary>The fast precision's definition, in scalar code: activations quantized per block like the weights, exact
    /// integer block sums, then acc = fma(sum, dw·dx, acc) block after block.</summary>
    private static float Reference(WeightMatrix w, int row, float[] x, int i)
    {
        int cols = w.Cols;
        byte* rowPtr = (byte*)w.Data + (long)row * w.RowBytes;
        float acc = 0;
        for (int b = 0; b < cols / 32; b++)
        {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = MathF.Max(amax, MathF.Abs(x[i * cols + b * 32 + j]));
            float dx = amax / 127f, id = dx != 0 ? 1f / dx : 0f;
            int sum = 0;
            for (int j = 0; j < 32; j++)
                sum += (sbyte)rowPtr[b * 34 + 2 + j] * (sbyte)MathF.Round(x[i * cols + b * 32 + j] * id, MidpointRounding.AwayFromZero);
            acc = MathF.FusedMultiplyAdd(sum, (float)*(Half*)(rowPtr + b * 34) * dx, acc);
        }
        return acc;
    }

    [Theory, MemberData(nameof(Paths))]
    public void FastInt8IsBitIdenticalToTheScalarDefinitionOnAwkwardShapes(string path)
    {
        var compute = KernelPaths.Get(path, Precision.Fast);
        if (compute == null || (path == "generated" && compute.Generated?.Int8 == null)) return;
        var r = new Random(8);
        foreach (var (n, rows, cols) in new[] { (1, 1, 32), (1, 7, 64), (2, 3, 96), (3, 67, 32), (5, 13, 320), (1, 67, 2048), (9, 9, 256), (64, 11, 64) })
        {
            using var w = WeightMatrix.FromFloats(Random(r, rows * cols), rows, cols, DType.Q8_0);
            var x = Random(r, n * cols, 2);
            var bias = Random(r, rows);
            var y = new float[n * rows];
            MatMul.Multiply(compute, x, n, w, y, bias);
            for (int i = 0; i < n; i++)
                for (int o = 0; o < rows; o++)
                    Assert.Equal(Reference(w, o, x, i) + bias[o], y[i * rows + o]);
        }
    }

    [Theory, MemberData(nameof(Paths))]
    public void FastInt8RowsAreBitIdenticalAloneOrWithUpTo63Others(string path)
    {
        var compute = KernelPaths.Get(path, Precision.Fast);
        if (compute == null) return;
        var r = new Random(10);
        int rows = 21, cols = 160;
        using var w = WeightMatrix.FromFloats(Random(r, rows * cols), rows, cols, DType.Q8_0);
        var x = Random(r, 64 * cols);
        var single = new float[64 * rows];
        for (int i = 0; i < 64; i++) MatMul.Multiply(compute, x.AsSpan(i * cols, cols), 1, w, single.AsSpan(i * rows, rows));
        foreach (int n in new[] { 2, 3, 8, 64 })
        {
            var y = new float[n * rows];
            MatMul.Multiply(compute, x, n, w, y);
            Assert.Equal(single.AsSpan(0, n * rows).ToArray(), y);
        }
    }

    [Fact]
    public void ExactPrecisionMultipliesTheDequantizedWeights()
    {
        var r = new Random(12);
        int n = 3, rows = 10, cols = 96;
        using var w = WeightMatrix.FromFloats(Random(r, rows * cols), rows, cols, DType.Q8_0);
        var stored = w.ToFloatArray();
        var x = Random(r, n * cols);
        var y = new float[n * rows];
        MatMul.Multiply(Compute.Default.WithPrecision(Precision.Exact), x, n, w, y);
        for (int i = 0; i < n; i++)
            for (int o = 0; o < rows; o++)
            {
                double s = 0;
                for (int c = 0; c < cols; c++) s += (double)x[i * cols + c] * stored[o * cols + c];
                Assert.Equal(s, y[i * rows + o], 1e-4);
            }
    }

    [Fact]
    public void LmHeadSubsetsOfQ8_0RowsKeepTheirBits()
    {
        var r = new Random(13);
        int rows = 50, cols = 64;
        using var w = WeightMatrix.FromFloats(Random(r, rows * cols), rows, cols, DType.Q8_0);
        int[] subset = [49, 3, 17, 0, 33];
        using var g = w.GatherRows(subset);
        var x = Random(r, 4 * cols);
        var full = new float[4 * rows];
        var part = new float[4 * subset.Length];
        var fast = Compute.Default.WithPrecision(Precision.Fast);
        MatMul.Multiply(fast, x, 4, w, full);
        MatMul.Multiply(fast, x, 4, g, part);
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < subset.Length; k++) Assert.Equal(full[i * rows + subset[k]], part[i * subset.Length + k]);
    }

    [Fact]
    public void TheGeneratedInt8KernelsExistWhereTheCpuHasVnni()
    {
        var k = Compute.Create(EngineOptions.Default with { Precision = Precision.Fast }).Generated;
        if (CpuFeatures.Detect().CanRunInt8Kernels) Assert.NotNull(k?.Int8);
    }
}
