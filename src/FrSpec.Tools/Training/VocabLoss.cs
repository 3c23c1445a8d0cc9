using System.Numerics.Tensors;
using FrSpec.Numerics;

namespace FrSpec.Training;

/// <summary>
/// Logits = hidden·Wᵀ over the vocabulary (W [V, H], the tied embedding or an LM head) and softmax cross-entropy,
/// forward and backward, in chunks of rows so the [rows, V] logits stay small. Targets are token ids or the softmax
/// of a teacher's logits (EAGLE distils the target's next-token distribution).
///
/// Active rows: a corpus uses only part of a 152k-token vocabulary. Rows outside <c>active</c> must be zero, so their
/// logit is exactly 0 for every input; the full-vocabulary softmax is then the softmax over the active rows plus
/// U = V − |active| terms e⁰, which is added in closed form. Loss and gradients are those of the full vocabulary,
/// at |active|/V of the cost (the LM head is ≈ 6·V·H FLOPs per token, most of a small model's training).
/// </summary>
internal sealed class VocabLoss
{
    public const int ChunkRows = 128;
    private readonly int _vocab, _hidden, _rows;
    private readonly int[]? _active;      // active token ids, ascending (null = all)
    private readonly int[]? _indexOf;     // token id → active row, −1 when inactive
    private readonly float[]? _wa, _dwa;  // gathered active rows of W and their gradient
    private readonly float[] _logits;     // [ChunkRows, rows]
    private float[]? _teacher;            // [ChunkRows, rows]
    private readonly double[] _rowLoss = new double[ChunkRows];

    public VocabLoss(int vocab, int hidden, int[]? active = null)
    {
        _vocab = vocab; _hidden = hidden;
        if (active != null)
        {
            _active = active.Distinct().Order().ToArray();
            if (_active.Length > 0 && (_active[0] < 0 || _active[^1] >= vocab)) throw new ArgumentException("active token id outside the vocabulary");
            _indexOf = new int[vocab];
            Array.Fill(_indexOf, -1);
            for (int i = 0; i < _active.Length; i++) _indexOf[_active[i]] = i;
            _wa = new float[(long)_active.Length * hidden];
            _dwa = new float[(long)_active.Length * hidden];
        }
        _rows = _active?.Length ?? vocab;
        _logits = new float[(long)ChunkRows * _rows];
    }

    /// <summary>Number of vocabulary rows the softmax is computed over.</summary>
    public int ActiveRows => _rows;

    /// <summary>Token ids of the rows that must stay zero (for tests and initialisation).</summary>
    public IEnumerable<int> InactiveIds() => _indexOf == null ? [] : Enumerable.Range(0, _vocab).Where(i => _indexOf[i] < 0);

    /// <summary>
    /// Cross-entropy summed over <paramref name="rows"/> hidden rows [rows, H]. Targets: token ids (<paramref name="targets"/>),
    /// or, when <paramref name="teacherHidden"/> is given, the distribution softmax(teacherHidden·Wᵀ).
    /// With <paramref name="dHidden"/> non-null, writes dLoss/dHidden·<paramref name="gradScale"/> into it (overwrites);
    /// with <paramref name="dWeight"/> non-null, adds dLoss/dW·gradScale (active rows only).
    /// </summary>
    public double Run(float[] weight, float[] hidden, int rows, int[]? targets, float[]? teacherHidden, float gradScale,
        float[]? dHidden, float[]? dWeight, bool[]? top1Match = null)
    {
        int R = _rows, H = _hidden;
        float[] w = weight;
        if (_active != null)
        {
            for (int i = 0; i < _active.Length; i++) Array.Copy(weight, (long)_active[i] * H, _wa!, (long)i * H, H);
            w = _wa!;
            if (dWeight != null) Array.Clear(_dwa!);
        }
        float extra = _vocab - R; // inactive rows, each with logit exactly 0
        double total = 0;
        bool backward = dHidden != null || dWeight != null;
        for (int r0 = 0; r0 < rows; r0 += ChunkRows)
        {
            int n = Math.Min(ChunkRows, rows - r0);
            var logits = _logits.AsSpan(0, n * R);
            Gemm.MultiplyNT(hidden.AsSpan(r0 * H, n * H), w, logits, n, H, R);
            if (teacherHidden != null)
            {
                _teacher ??= new float[(long)ChunkRows * R];
                Gemm.MultiplyNT(teacherHidden.AsSpan(r0 * H, n * H), w, _teacher.AsSpan(0, n * R), n, H, R);
            }
            int baseRow = r0;
            ParallelRange.For(n, (s, e) =>
            {
                for (int i = s; i < e; i++)
                {
                    var z = _logits.AsSpan(i * R, R);
                    float lse = LogSumExp(z, extra);
                    double loss;
                    // agreement of the two argmaxes (an inactive row's logit 0 can win only if every active logit is negative)
                    if (top1Match != null && teacherHidden != null)
                        top1Match[baseRow + i] = ArgMax(z, extra) == ArgMax(_teacher!.AsSpan(i * R, R), extra);
                    if (teacherHidden != null)
                    {
                        // soft targets p = softmax(teacher); loss = −Σ p·log q = lse − Σ p·z (inactive z = 0); dz = q − p
                        var p = _teacher!.AsSpan(i * R, R);
                        float tl = LogSumExp(p, extra);
                        TensorPrimitives.Subtract(p, tl, p);
                        TensorPrimitives.Exp(p, p);
                        double dot = 0;
                        for (int v = 0; v < R; v++) dot += p[v] * (double)z[v];
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
                        int yi = _indexOf == null ? y : _indexOf[y];
                        loss = lse - (yi >= 0 ? z[yi] : 0f);
                        if (backward)
                        {
                            TensorPrimitives.Subtract(z, lse, z);
                            TensorPrimitives.Exp(z, z);
                            if (yi >= 0) z[yi] -= 1f;
                            TensorPrimitives.Multiply(z, gradScale, z);
                        }
                    }
                    _rowLoss[i] = loss;
                }
            });
            for (int i = 0; i < n; i++) total += _rowLoss[i]; // fixed order: deterministic
            if (dHidden != null) Gemm.MultiplyNN(logits, w, dHidden.AsSpan(r0 * H, n * H), n, R, H);
            if (dWeight != null) Gemm.MultiplyTN(logits, hidden.AsSpan(r0 * H, n * H), _active == null ? dWeight : _dwa!, R, n, H, accumulate: true);
        }
        if (dWeight != null && _active != null)
            for (int i = 0; i < _active.Length; i++)
            {
                var g = dWeight.AsSpan((int)((long)_active[i] * H), H);
                TensorPrimitives.Add(g, _dwa.AsSpan(i * H, H), g);
            }
        return total;
    }

    /// <summary>Index of the largest logit among active rows, or −1 when an inactive row's 0 is larger.</summary>
    private static int ArgMax(ReadOnlySpan<float> z, float extra)
    {
        int i = TensorPrimitives.IndexOfMax(z);
        return extra > 0 && z[i] < 0 ? -1 : i;
    }

    /// <summary>log(Σ exp z + extra·e⁰).</summary>
    private static float LogSumExp(ReadOnlySpan<float> z, float extra)
    {
        float max = Math.Max(TensorPrimitives.Max(z), extra > 0 ? 0f : float.NegativeInfinity);
        double sum = extra * Math.Exp(-max);
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
