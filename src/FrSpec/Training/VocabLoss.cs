using System.Numerics.Tensors;
using FrSpec.Numerics;

namespace FrSpec.Training;

/// <summary>
/// Logits = hidden·Wᵀ over the full vocabulary (W [V, H], the tied embedding or an LM head) and softmax cross-entropy,
/// forward and backward, in chunks of rows so the [rows, V] logits stay a few hundred MB. Targets are either token ids
/// or the softmax of a teacher's logits (EAGLE distils the target's next-token distribution).
/// This is where most training FLOPs go (≈ 6·V·H per token), so all three products run on <see cref="Gemm"/>.
/// </summary>
internal sealed class VocabLoss
{
    public const int ChunkRows = 128;
    private readonly int _vocab, _hidden;
    private float[] _wt = [];          // Wᵀ [H, V], refreshed by Prepare
    private readonly float[] _logits;  // [ChunkRows, V]
    private float[]? _teacher;         // [ChunkRows, V]
    private readonly double[] _rowLoss = new double[ChunkRows];

    public VocabLoss(int vocab, int hidden)
    {
        _vocab = vocab; _hidden = hidden;
        _logits = new float[(long)ChunkRows * vocab];
    }

    /// <summary>Call after W changes (each optimizer step) and before <see cref="Run"/>.</summary>
    public void Prepare(float[] weight)
    {
        if (_wt.Length != weight.Length) _wt = new float[weight.Length];
        Gemm.Transpose(weight, _vocab, _hidden, _wt);
    }

    /// <summary>
    /// Mean cross-entropy over <paramref name="rows"/> hidden rows [rows, H]. Targets: token ids (<paramref name="targets"/>),
    /// or, when <paramref name="teacherHidden"/> is given, the distribution softmax(teacherHidden·Wᵀ).
    /// With <paramref name="dHidden"/> non-null, writes dLoss/dHidden·<paramref name="gradScale"/> into it (overwrites);
    /// with <paramref name="dWeight"/> non-null, adds dLoss/dW·gradScale. Returns the summed (not averaged) loss.
    /// </summary>
    public double Run(float[] weight, float[] hidden, int rows, int[]? targets, float[]? teacherHidden, float gradScale,
        float[]? dHidden, float[]? dWeight)
    {
        int V = _vocab, H = _hidden;
        double total = 0;
        for (int r0 = 0; r0 < rows; r0 += ChunkRows)
        {
            int n = Math.Min(ChunkRows, rows - r0);
            var logits = _logits.AsSpan(0, n * V);
            Gemm.MultiplyNN(hidden.AsSpan(r0 * H, n * H), _wt, logits, n, H, V);
            if (teacherHidden != null)
            {
                _teacher ??= new float[(long)ChunkRows * V];
                Gemm.MultiplyNN(teacherHidden.AsSpan(r0 * H, n * H), _wt, _teacher.AsSpan(0, n * V), n, H, V);
            }
            bool backward = dHidden != null || dWeight != null;
            int baseRow = r0;
            ParallelRange.For(n, (s, e) =>
            {
                for (int i = s; i < e; i++)
                {
                    var z = _logits.AsSpan(i * V, V);
                    float lse = LogSumExp(z);
                    double loss;
                    if (teacherHidden != null)
                    {
                        // soft targets p = softmax(teacher); loss = −Σ p·log q ; dz = q − p
                        var p = _teacher!.AsSpan(i * V, V);
                        float tl = LogSumExp(p);
                        TensorPrimitives.Subtract(p, tl, p);          // log p
                        TensorPrimitives.Exp(p, p);                   // p
                        double dot = 0;
                        for (int v = 0; v < V; v++) dot += p[v] * (double)z[v];
                        loss = lse - dot;
                        if (backward)
                        {
                            TensorPrimitives.Subtract(z, lse, z);
                            TensorPrimitives.Exp(z, z);
                            TensorPrimitives.Subtract(z, p, z);
                            TensorPrimitives.Multiply(z, gradScale, z);
                        }
                    }
                    else
                    {
                        int y = targets![baseRow + i];
                        loss = lse - z[y];
                        if (backward)
                        {
                            TensorPrimitives.Subtract(z, lse, z);
                            TensorPrimitives.Exp(z, z);
                            z[y] -= 1f;
                            TensorPrimitives.Multiply(z, gradScale, z);
                        }
                    }
                    _rowLoss[i] = loss;
                }
            });
            for (int i = 0; i < n; i++) total += _rowLoss[i]; // fixed order: deterministic
            if (dHidden != null) Gemm.MultiplyNN(logits, weight, dHidden.AsSpan(r0 * H, n * H), n, V, H);
            if (dWeight != null) Gemm.MultiplyTN(logits, hidden.AsSpan(r0 * H, n * H), dWeight, V, n, H, accumulate: true);
        }
        return total;
    }

    private static float LogSumExp(ReadOnlySpan<float> z)
    {
        float max = TensorPrimitives.Max(z);
        double sum = 0;
        // TensorPrimitives has no fused exp-sum with offset; do it in blocks to stay vectorized
        Span<float> tmp = stackalloc float[256];
        for (int i = 0; i < z.Length; i += 256)
        {
            int m = Math.Min(256, z.Length - i);
            TensorPrimitives.Subtract(z.Slice(i, m), max, tmp[..m]);
            TensorPrimitives.Exp(tmp[..m], tmp[..m]);
            sum += TensorPrimitives.Sum(tmp[..m]);
        }
        return max + (float)Math.Log(sum);
    }
}
