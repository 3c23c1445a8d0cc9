using FrSpec.Numerics;

namespace FrSpec.Tests.Numerics;

public class GemmTests
{
    private static float[] Random(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
    }

    // plain triple loops in double: C[i,j] = Σp A(i,p)·B(p,j)
    private static double[] Reference(Func<int, int, float> a, Func<int, int, float> b, int m, int k, int n)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double)a(i, p) * b(p, j);
                c[i * n + j] = s;
            }
        return c;
    }

    private static void AssertClose(double[] expected, float[] actual, double tol = 1e-4)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(4, 16, 16)]
    [InlineData(37, 300, 45)]     // edges in every dimension, k crosses a cache block
    [InlineData(130, 70, 520)]    // several row and column tiles
    public void NN_TN_NT_match_scalar_reference(int m, int k, int n)
    {
        var a = Random(m * k, 1); var b = Random(k * n, 2); var bT = Random(n * k, 3); var aT = Random(k * m, 4);
        var c = new float[m * n];
        Gemm.MultiplyNN(a, b, c, m, k, n);
        AssertClose(Reference((i, p) => a[i * k + p], (p, j) => b[p * n + j], m, k, n), c);

        Gemm.MultiplyTN(aT, b, c, m, k, n);
        AssertClose(Reference((i, p) => aT[p * m + i], (p, j) => b[p * n + j], m, k, n), c);

        Gemm.MultiplyNT(a, bT, c, m, k, n);
        AssertClose(Reference((i, p) => a[i * k + p], (p, j) => bT[j * k + p], m, k, n), c);
    }

    [Fact]
    public void Accumulate_adds_to_existing_output()
    {
        int m = 9, k = 33, n = 20;
        var a = Random(m * k, 5); var b = Random(k * n, 6);
        var c = Random(m * n, 7);
        var before = c.Select(x => (double)x).ToArray();
        Gemm.MultiplyNN(a, b, c, m, k, n, accumulate: true);
        var prod = Reference((i, p) => a[i * k + p], (p, j) => b[p * n + j], m, k, n);
        AssertClose(prod.Select((x, i) => x + before[i]).ToArray(), c);
    }

    [Fact]
    public void Transpose_swaps_indices()
    {
        int r = 45, cols = 70;
        var a = Random(r * cols, 8); var t = new float[r * cols];
        Gemm.Transpose(a, r, cols, t);
        for (int i = 0; i < r; i++) for (int j = 0; j < cols; j++) Assert.Equal(a[i * cols + j], t[j * r + i]);
    }

    [Fact]
    public void Undersized_buffers_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Gemm.MultiplyNN(new float[5], new float[6], new float[6], 2, 3, 2));
    }
}
