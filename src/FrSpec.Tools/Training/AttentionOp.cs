using System.Numerics.Tensors;

namespace FrSpec.Training;

/// <summary>
/// Causal multi-head attention with grouped-query heads over B independent sequences of length S (tokens laid out
/// [B·S, heads·headDim]), forward and backward. Probabilities are kept for the backward pass ([B, heads, S, S]).
/// Work is split by (sequence, KV head), so the K/V gradients shared by a head group are summed by one thread.
/// </summary>
internal static class AttentionOp
{
    public static void Forward(float[] q, float[] k, float[] v, int batch, int seq, int heads, int kvHeads, int headDim, float[] probs, float[] output)
    {
        int group = heads / kvHeads, qs = heads * headDim, ks = kvHeads * headDim;
        float scale = 1f / MathF.Sqrt(headDim);
        ParallelRange.For(batch * kvHeads, (start, end) =>
        {
            for (int job = start; job < end; job++)
            {
                int b = job / kvHeads, g = job % kvHeads;
                for (int h = g * group; h < (g + 1) * group; h++)
                {
                    for (int i = 0; i < seq; i++)
                    {
                        int ti = b * seq + i;
                        var qi = q.AsSpan(ti * qs + h * headDim, headDim);
                        var p = probs.AsSpan(((b * heads + h) * seq + i) * seq, seq);
                        float max = float.NegativeInfinity;
                        for (int j = 0; j <= i; j++)
                        {
                            float d = TensorPrimitives.Dot(qi, k.AsSpan((b * seq + j) * ks + g * headDim, headDim)) * scale;
                            p[j] = d;
                            if (d > max) max = d;
                        }
                        float sum = 0;
                        for (int j = 0; j <= i; j++) { float e = MathF.Exp(p[j] - max); p[j] = e; sum += e; }
                        float inv = 1f / sum;
                        var o = output.AsSpan(ti * qs + h * headDim, headDim);
                        o.Clear();
                        for (int j = 0; j <= i; j++)
                        {
                            p[j] *= inv;
                            TensorPrimitives.MultiplyAdd(v.AsSpan((b * seq + j) * ks + g * headDim, headDim), p[j], o, o);
                        }
                        p[(i + 1)..].Clear();
                    }
                }
            }
        });
    }

    /// <summary>From dOut: dQ (overwritten), dK and dV (overwritten). All in the rotated (post-RoPE) space.</summary>
    public static void Backward(float[] q, float[] k, float[] v, float[] probs, float[] dOut, int batch, int seq, int heads, int kvHeads, int headDim,
        float[] dq, float[] dk, float[] dv)
    {
        int group = heads / kvHeads, qs = heads * headDim, ks = kvHeads * headDim;
        float scale = 1f / MathF.Sqrt(headDim);
        ParallelRange.For(batch * kvHeads, (start, end) =>
        {
            var dp = new float[seq];
            for (int job = start; job < end; job++)
            {
                int b = job / kvHeads, g = job % kvHeads;
                for (int j = 0; j < seq; j++)
                {
                    dk.AsSpan((b * seq + j) * ks + g * headDim, headDim).Clear();
                    dv.AsSpan((b * seq + j) * ks + g * headDim, headDim).Clear();
                }
                for (int h = g * group; h < (g + 1) * group; h++)
                {
                    for (int i = 0; i < seq; i++)
                    {
                        int ti = b * seq + i;
                        var p = probs.AsSpan(((b * heads + h) * seq + i) * seq, seq);
                        var doi = dOut.AsSpan(ti * qs + h * headDim, headDim);
                        // dP_ij = dO_i · V_j ; dV_j += P_ij dO_i
                        float rowDot = 0;
                        for (int j = 0; j <= i; j++)
                        {
                            int vj = (b * seq + j) * ks + g * headDim;
                            float d = TensorPrimitives.Dot(doi, v.AsSpan(vj, headDim));
                            dp[j] = d;
                            rowDot += d * p[j];
                            TensorPrimitives.MultiplyAdd(doi, p[j], dv.AsSpan(vj, headDim), dv.AsSpan(vj, headDim));
                        }
                        // dS_ij = P_ij (dP_ij − Σ_j P dP); dQ_i = scale Σ_j dS_ij K_j ; dK_j += scale dS_ij Q_i
                        var dqi = dq.AsSpan(ti * qs + h * headDim, headDim);
                        dqi.Clear();
                        var qi = q.AsSpan(ti * qs + h * headDim, headDim);
                        for (int j = 0; j <= i; j++)
                        {
                            float ds = p[j] * (dp[j] - rowDot) * scale;
                            int kj = (b * seq + j) * ks + g * headDim;
                            TensorPrimitives.MultiplyAdd(k.AsSpan(kj, headDim), ds, dqi, dqi);
                            TensorPrimitives.MultiplyAdd(qi, ds, dk.AsSpan(kj, headDim), dk.AsSpan(kj, headDim));
                        }
                    }
                }
            }
        });
    }
}
