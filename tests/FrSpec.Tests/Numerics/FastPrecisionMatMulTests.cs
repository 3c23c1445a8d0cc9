using FrSpec.Numerics;
using FrSpec.Numerics.CodeGen;

namespace FrSpec.Tests.Numerics;

/// <summary>
/// The fast precision (activations rounded to bf16 against bf16/f16 weights) on every kernel path, against a scalar
/// double-precision reference of the same rounded operands, on awkward shapes; and its batch invariance.
/// </summary>
public class FastPrecisionMatMulTests
{
    public static TheoryData<string, DType> Paths()
    {
        var d = new TheoryData<string, DType>();
        foreach (var p in KernelPaths.Names)
            foreach (var t in new[] { DType.BF16, DType.F16 }) d.Add(p, t);
        return d;
    }

    private static float[] Random(Random r, int count) => Enumerable.Range(0, count).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();

    [Theory, MemberData(nameof(Paths))]
    public void MatchesScalarReferenceOnAwkwardShapes(string path, DType type)
    {
        var compute = KernelPaths.Get(path, Precision.Fast);
        if (compute == null) return; // this CPU lacks the path; the others still run
        var r = new Random(3);
        // rows 1..67 (tile tails), K below, at and around the 32-element step, activation rows 1..13 (block tails)
        foreach (var (n, rows, cols) in new[] { (1, 1, 1), (1, 67, 31), (2, 5, 32), (3, 66, 33), (7, 13, 95), (13, 67, 64), (6, 4, 200), (1, 37, 2048), (11, 9, 1000) })
        {
            var wf = Random(r, rows * cols);
            var x = Random(r, n * cols);
            var bias = Random(r, rows);
            using var w = WeightMatrix.FromFloats(wf, rows, cols, type);
            var stored = w.ToFloatArray();
            var y = new float[n * rows];
            MatMul.Multiply(compute, x, n, w, y, bias);
            for (int i = 0; i < n; i++)
                for (int o = 0; o < rows; o++)
                {
                    double s = bias[o], mag = Math.Abs(bias[o]);
                    for (int c = 0; c < cols; c++)
                    {
                        double t = (double)Bf16.ToFloat(Bf16.FromFloat(x[i * cols + c])) * stored[o * cols + c];
                        s += t; mag += Math.Abs(t);
                    }
                    // fp32 accumulation of bf16 products: a few ulps of the magnitude
                    Assert.True(Math.Abs(s - y[i * rows + o]) <= 1e-6 * mag * Math.Sqrt(cols) + 1e-6,
                        $"{path} {type} n={n} rows={rows} cols={cols} [{i},{o}]: {y[i * rows + o]} vs {s}");
                }
        }
    }

    [Theory, MemberData(nameof(Paths))]
    public void EachRowIsBitIdenticalAloneOrWithUpTo63Others(string path, DType type)
    {
        var compute = KernelPaths.Get(path, Precision.Fast);
        if (compute == null) return;
        var r = new Random(9);
        int rows = 45, cols = 333;
        using var w = WeightMatrix.FromFloats(Random(r, rows * cols), rows, cols, type);
        var x = Random(r, 64 * cols);
        var single = new float[64 * rows];
        for (int i = 0; i < 64; i++) MatMul.Multiply(compute, x.AsSpan(i * cols, cols), 1, w, single.AsSpan(i * rows, rows));
        foreach (int n in new[] { 2, 5, 6, 7, 12, 13, 64 })
        {
            var y = new float[n * rows];
            MatMul.Multiply(compute, x, n, w, y);
            Assert.Equal(single.AsSpan(0, n * rows).ToArray(), y);
        }
    }

    [Fact]
    public void FastDiffersFromExactOnlyByTheActivationRounding()
    {
        var r = new Random(4);
        int rows = 20, cols = 130;
        using var w = WeightMatrix.FromFloats(Random(r, rows * cols), rows, cols, DType.BF16);
        var x = Random(r, cols);
        var rounded = x.Select(v => Bf16.ToFloat(Bf16.FromFloat(v))).ToArray();
        var exactOfRounded = new float[rows];
        var fast = new float[rows];
        MatMul.Multiply(Compute.Default.WithPrecision(Precision.Exact), rounded, 1, w, exactOfRounded);
        MatMul.Multiply(Compute.Default.WithPrecision(Precision.Fast), x, 1, w, fast);
        for (int o = 0; o < rows; o++) Assert.Equal(exactOfRounded[o], fast[o], 1e-4f);
    }

    [Fact]
    public void RefusedExecutableMemoryFallsBackToManagedKernelsWithANotice()
    {
        var options = EngineOptions.Default with { Precision = Precision.Fast };
        var refused = Compute.Create(options, _ => throw new FrSpecException("mprotect(read+execute) refused (simulated)"));
        Assert.Null(refused.Generated);
        if (CpuFeatures.Detect().CanRunBf16Kernels)
        {
            Assert.NotNull(refused.Notice);
            Assert.Contains("simulated", refused.Notice);
            Assert.DoesNotContain('\n', refused.Notice);
        }
        var r = new Random(2);
        using var w = WeightMatrix.FromFloats(Random(r, 8 * 40), 8, 40, DType.BF16);
        var x = Random(r, 3 * 40);
        var y = new float[3 * 8];
        MatMul.Multiply(refused, x, 3, w, y); // runs, on managed kernels
        var expected = new float[3 * 8];
        // the managed kernels of the same instruction set, code generation off (on an AVX2-only CPU: the AVX2 ones)
        MatMul.Multiply(Compute.Create(options with { Isa = refused.Isa, CodeGeneration = false }), x, 3, w, expected);
        Assert.Equal(expected, y);
    }

    [Fact]
    public void CodeGenerationOffMeansNoGeneratedKernels()
    {
        Assert.Null(Compute.Create(EngineOptions.Default with { CodeGeneration = false }).Generated);
        Assert.Null(Compute.Create(EngineOptions.Default with { Isa = Isa.Portable }).Generated);
        if (CpuFeatures.Detect().CanRunBf16Kernels) Assert.NotNull(Compute.Create(EngineOptions.Default).Generated);
    }
}
