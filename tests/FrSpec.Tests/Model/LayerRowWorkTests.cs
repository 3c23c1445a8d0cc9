using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Tests.Model;

/// <summary>The per-row parts of a layer pass (the embedding gather, norms, residual adds, RoPE, SwiGLU) on the worker pool
/// against the plain per-row loops on one thread: the same bits on awkward widths (not multiples of the vector width), for 1 to 13 rows, on a pool of 3 threads.</summary>
public class LayerRowWorkTests
{
    private static readonly Compute Pool3 = Compute.Create(EngineOptions.Default with { Threads = 3 });

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(13)]
    public void PoolRowsEqualThePlainLoops(int n)
    {
        const int hidden = 67, inter = 83, heads = 3, kvHeads = 1, headDim = 6;
        var r = new Random(n);
        var layer = new DecoderLayer
        {
            QProj = Matrix(heads * headDim, hidden), KProj = Matrix(kvHeads * headDim, hidden), VProj = Matrix(kvHeads * headDim, hidden),
            OProj = Matrix(hidden, heads * headDim), PostAttentionNorm = new float[hidden],
            GateProj = Matrix(inter, hidden), UpProj = Matrix(inter, hidden), DownProj = Matrix(hidden, inter),
            NumHeads = heads, NumKvHeads = kvHeads, HeadDim = headDim, Eps = 1e-5f,
        };
        var pooled = new ForwardBuffers(hidden, heads * headDim, kvHeads * headDim, inter, headDim);
        var plain = new ForwardBuffers(hidden, heads * headDim, kvHeads * headDim, inter, headDim);
        pooled.Ensure(n); plain.Ensure(n);
        foreach (var (a, b) in new[] { (pooled.X, plain.X), (pooled.Q, plain.Q), (pooled.K, plain.K), (pooled.Gate, plain.Gate), (pooled.Up, plain.Up),
                     (pooled.Cos, plain.Cos), (pooled.Sin, plain.Sin) })
            for (int i = 0; i < a.Length; i++) a[i] = b[i] = (float)(r.NextDouble() * 6 - 3);
        var weight = Enumerable.Range(0, hidden).Select(_ => (float)(0.9 + 0.2 * r.NextDouble())).ToArray();

        pooled.RowWork.Norm(Pool3, pooled, n, weight, 1e-5f);
        pooled.RowWork.Rotate(Pool3, layer, pooled, n);
        pooled.RowWork.SiluMul(Pool3, pooled, n);
        for (int t = 0; t < n; t++)
        {
            Ops.RmsNorm(plain.X.AsSpan(t * hidden, hidden), weight, 1e-5f, plain.Normed.AsSpan(t * hidden, hidden));
            for (int h = 0; h < heads; h++) Rope.Apply(plain.Q.AsSpan((t * heads + h) * headDim, headDim), plain.Cos.AsSpan(t * 3, 3), plain.Sin.AsSpan(t * 3, 3));
            Rope.Apply(plain.K.AsSpan(t * headDim, headDim), plain.Cos.AsSpan(t * 3, 3), plain.Sin.AsSpan(t * 3, 3));
        }
        Ops.SiluMul(plain.Gate.AsSpan(0, n * inter), plain.Up.AsSpan(0, n * inter)); // the whole block at once, as before

        Assert.Equal(plain.Normed.AsSpan(0, n * hidden).ToArray(), pooled.Normed.AsSpan(0, n * hidden).ToArray());
        Assert.Equal(plain.Q.AsSpan(0, n * heads * headDim).ToArray(), pooled.Q.AsSpan(0, n * heads * headDim).ToArray());
        Assert.Equal(plain.K.AsSpan(0, n * headDim).ToArray(), pooled.K.AsSpan(0, n * headDim).ToArray());
        Assert.Equal(plain.Gate.AsSpan(0, n * inter).ToArray(), pooled.Gate.AsSpan(0, n * inter).ToArray());
        // and the norm is an RMSNorm (double reference), not merely the same code twice
        for (int t = 0; t < n; t++)
        {
            double ss = 0;
            for (int i = 0; i < hidden; i++) ss += (double)plain.X[t * hidden + i] * plain.X[t * hidden + i];
            double scale = 1 / Math.Sqrt(ss / hidden + 1e-5);
            for (int i = 0; i < hidden; i++)
            {
                double expected = plain.X[t * hidden + i] * scale * weight[i];
                Assert.True(Math.Abs(expected - pooled.Normed[t * hidden + i]) <= 1e-5 * (1 + Math.Abs(expected)), $"row {t}, element {i}");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(13)]
    public void ResidualAddsAndTheEmbeddingGatherEqualThePlainLoops(int n)
    {
        const int hidden = 67, vocab = 70;
        var r = new Random(100 + n);
        var pooled = new ForwardBuffers(hidden, 4, 4, 8, 4);
        var plain = new ForwardBuffers(hidden, 4, 4, 8, 4);
        pooled.Ensure(n); plain.Ensure(n);
        var weight = Enumerable.Range(0, hidden).Select(_ => (float)(0.9 + 0.2 * r.NextDouble())).ToArray();
        foreach (var (a, b) in new[] { (pooled.X, plain.X), (pooled.Tmp, plain.Tmp) })
            for (int i = 0; i < a.Length; i++) a[i] = b[i] = (float)(r.NextDouble() * 6 - 3);

        // the attention block's add fused with the MLP norm, then the MLP block's add
        pooled.RowWork.AddAndNorm(Pool3, pooled, n, weight, 1e-5f);
        var x = plain.X.AsSpan(0, n * hidden);
        System.Numerics.Tensors.TensorPrimitives.Add(x, plain.Tmp.AsSpan(0, n * hidden), x);
        for (int t = 0; t < n; t++) Ops.RmsNorm(plain.X.AsSpan(t * hidden, hidden), weight, 1e-5f, plain.Normed.AsSpan(t * hidden, hidden));
        Assert.Equal(plain.X.AsSpan(0, n * hidden).ToArray(), pooled.X.AsSpan(0, n * hidden).ToArray());
        Assert.Equal(plain.Normed.AsSpan(0, n * hidden).ToArray(), pooled.Normed.AsSpan(0, n * hidden).ToArray());
        pooled.RowWork.Add(Pool3, pooled, n);
        System.Numerics.Tensors.TensorPrimitives.Add(x, plain.Tmp.AsSpan(0, n * hidden), x);
        Assert.Equal(plain.X.AsSpan(0, n * hidden).ToArray(), pooled.X.AsSpan(0, n * hidden).ToArray());

        // the gather from a bf16 matrix in panels (a tied LM head's layout), repeated ids included
        using var rowMajor = WeightMatrix.FromFloats(Enumerable.Range(0, vocab * hidden).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray(), vocab, hidden, DType.BF16);
        using var panels = rowMajor.ToPanels();
        var tokens = Enumerable.Range(0, n).Select(t => t == 1 ? 0 : r.Next(vocab)).ToArray();
        pooled.RowWork.Embed(Pool3, pooled, panels, tokens);
        for (int t = 0; t < n; t++)
        {
            var expected = new float[hidden];
            rowMajor.ReadRow(tokens[t], expected);
            Assert.Equal(expected, pooled.X.AsSpan(t * hidden, hidden).ToArray());
        }
    }

    [Fact]
    public void WithoutANormWeightTheRowsAreCopied()
    {
        var b = new ForwardBuffers(19, 4, 4, 8, 4);
        b.Ensure(4);
        for (int i = 0; i < 4 * 19; i++) b.X[i] = i * 0.5f - 3;
        b.RowWork.Norm(Pool3, b, 4, null, 1e-5f);
        Assert.Equal(b.X.AsSpan(0, 4 * 19).ToArray(), b.Normed.AsSpan(0, 4 * 19).ToArray());
    }

    private static WeightMatrix Matrix(int rows, int cols) => WeightMatrix.FromFloats(new float[rows * cols], rows, cols, DType.F32);
}
