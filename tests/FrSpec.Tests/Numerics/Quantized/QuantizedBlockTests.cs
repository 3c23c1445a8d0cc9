using FrSpec.Numerics;
using FrSpec.Numerics.Quantized;
using Xunit.Abstractions;

namespace FrSpec.Tests.Numerics.Quantized;

/// <summary>
/// Q4_0, Q4_K and Q6_K: the vectorised decoders against the scalar references on arbitrary block bytes, the encoders'
/// error on Gaussian weights (stated bounds), and the f32 MatMul path computing with these types.
/// </summary>
public unsafe class QuantizedBlockTests(ITestOutputHelper output)
{
    public static TheoryData<DType> Types => new() { DType.Q4_0, DType.Q4_K, DType.Q6_K };

    private static void Reference(DType t, byte* src, Span<float> dst)
    {
        switch (t)
        {
            case DType.Q4_0: Q4_0.DequantizeReference(src, dst); break;
            case DType.Q4_K: Q4_K.DequantizeReference(src, dst); break;
            case DType.Q6_K: Q6_K.DequantizeReference(src, dst); break;
            default: throw new ArgumentOutOfRangeException(nameof(t));
        }
    }

    /// <summary>Random block bytes whose f16 scales are finite (any other byte is a valid code or scale).</summary>
    private static byte[] RandomBlocks(DType t, int blocks, int seed)
    {
        var r = new Random(seed);
        int bb = DTypeInfo.BlockBytes(t);
        var bytes = new byte[blocks * bb];
        r.NextBytes(bytes);
        int[] halfOffsets = t switch { DType.Q4_0 => [0], DType.Q4_K => [0, 2], _ => [208] };
        fixed (byte* p = bytes)
            for (int b = 0; b < blocks; b++)
                foreach (int o in halfOffsets) *(Half*)(p + b * bb + o) = (Half)(r.NextDouble() * 0.2 - 0.1);
        return bytes;
    }

    [Theory, MemberData(nameof(Types))]
    public void VectorisedDecodeIsBitIdenticalToReference(DType t)
    {
        const int blocks = 37;
        var bytes = RandomBlocks(t, blocks, seed: (int)t);
        int n = blocks * DTypeInfo.BlockSize(t);
        var want = new float[n];
        var got = new float[n];
        fixed (byte* p = bytes)
        {
            Reference(t, p, want);
            FrSpec.Numerics.Convert.ToFloat(t, p, got);
        }
        for (int i = 0; i < n; i++)
            Assert.True(BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(got[i]), $"{t} weight {i}: {got[i]} vs reference {want[i]}");
        Assert.Contains(want, v => v != 0);
    }

    /// <summary>RMSE over σ of Gaussian weights after encode → decode; bounds are ~10% above what the encoders reach.</summary>
    [Theory]
    [InlineData(DType.Q4_0, 0.095)]   // measured 0.0870
    [InlineData(DType.Q4_K, 0.080)]   // measured 0.0723
    [InlineData(DType.Q6_K, 0.0196)]  // measured 0.0178
    public void EncodeDecodeErrorStaysWithinBound(DType t, double bound)
    {
        var r = new Random(11);
        const int n = 256 * 64;
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)Gaussian(r) * 0.02f;
        double rel = RelativeRmse(t, x);
        output.WriteLine($"{t}: RMSE/σ = {rel:F4} (bound {bound})");
        Assert.True(rel < bound, $"{t}: relative RMSE {rel:F4} exceeds {bound}");
    }

    [Fact]
    public void ScaleSearchBeatsPlainRangeScaling()
    {
        // Q4_K's searched fit must beat rounding with the range-derived scale of each 32-weight sub-block, and the
        // searched Q6_K scales must beat plain max-abs scaling, on the same heavy-tailed data.
        var r = new Random(5);
        const int n = 256 * 32;
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(Gaussian(r) * (r.NextDouble() < 0.05 ? 4 : 1));
        double q4k = RelativeRmse(DType.Q4_K, x), q6k = RelativeRmse(DType.Q6_K, x);
        double plain4 = 0, plain6 = 0, sig = 0;
        for (int s = 0; s < n / 32; s++)
        {
            var sub = x.AsSpan(32 * s, 32);
            float lo = MathF.Min(0, Min(sub)), hi = Max(sub), step = (hi - lo) / 15;
            foreach (float v in sub)
            {
                float q = step == 0 ? 0 : MathF.Round((v - lo) / step) * step + lo;
                plain4 += (q - v) * (q - v);
                sig += v * v;
            }
        }
        for (int s = 0; s < n / 16; s++)
        {
            var sub = x.AsSpan(16 * s, 16);
            float step = MathF.Max(MathF.Abs(Min(sub)), MathF.Abs(Max(sub))) / 31.5f;
            foreach (float v in sub)
            {
                float q = Math.Clamp(MathF.Round(v / step), -32, 31) * step;
                plain6 += (q - v) * (q - v);
            }
        }
        plain4 = Math.Sqrt(plain4 / sig); plain6 = Math.Sqrt(plain6 / sig);
        output.WriteLine($"Q4_K {q4k:F4} vs plain {plain4:F4}; Q6_K {q6k:F4} vs plain {plain6:F4}");
        Assert.True(q4k < plain4, $"Q4_K {q4k} not below plain range scaling {plain4}");
        Assert.True(q6k < plain6, $"Q6_K {q6k} not below plain max-abs scaling {plain6}");
    }

    [Theory, MemberData(nameof(Types))]
    public void ZeroAndConstantBlocksDecodeExactly(DType t)
    {
        int n = 2 * DTypeInfo.BlockSize(t);
        var x = new float[n];
        for (int i = n / 2; i < n; i++) x[i] = 0.5f;   // second block constant and a power of two: exactly representable
        using var w = WeightMatrix.FromFloats(x, 1, n, t);
        var y = w.ToFloatArray();
        for (int i = 0; i < n / 2; i++) Assert.Equal(0f, y[i]);
        for (int i = n / 2; i < n; i++) Assert.Equal(0.5f, y[i], 1e-3f);
    }

    [Theory, MemberData(nameof(Types))]
    public void MatMulComputesWithQuantizedWeights(DType t)
    {
        // The exact precision decodes quantized rows to f32: results equal MatMul over the decoded f32 weights.
        int rows = 13, cols = 2 * DTypeInfo.BlockSize(t), n = 3;
        var r = new Random(3);
        var wf = Enumerable.Range(0, rows * cols).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        var x = Enumerable.Range(0, n * cols).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        using var q = WeightMatrix.FromFloats(wf, rows, cols, t);
        using var f = WeightMatrix.FromFloats(q.ToFloatArray(), rows, cols, DType.F32);
        foreach (Isa isa in Enum.GetValues<Isa>())
        {
            if (!MatMul.IsSupported(isa)) continue;
            var c = Compute.Default.WithIsa(isa).WithPrecision(Precision.Exact);
            var yq = new float[n * rows];
            var yf = new float[n * rows];
            MatMul.Multiply(c, x, n, q, yq);
            MatMul.Multiply(c, x, n, f, yf);
            Assert.Equal(yf, yq);
        }
    }

    private static double RelativeRmse(DType t, float[] x)
    {
        using var w = WeightMatrix.FromFloats(x, x.Length / 256, 256, t);
        var y = w.ToFloatArray();
        double err = 0, sig = 0;
        for (int i = 0; i < x.Length; i++) { err += (y[i] - x[i]) * (double)(y[i] - x[i]); sig += (double)x[i] * x[i]; }
        return Math.Sqrt(err / sig);
    }

    private static double Gaussian(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
    private static float Min(ReadOnlySpan<float> s) { float m = s[0]; foreach (var v in s) m = MathF.Min(m, v); return m; }
    private static float Max(ReadOnlySpan<float> s) { float m = s[0]; foreach (var v in s) m = MathF.Max(m, v); return m; }
}
