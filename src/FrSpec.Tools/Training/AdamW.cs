namespace FrSpec.Training;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter): Adam moments with bias correction and decoupled weight decay
/// p ← p − lr·(m̂/(√v̂ + ε) + λ·p), λ only on parameters marked <see cref="Parameter.Decay"/>.
/// </summary>
public sealed class AdamW
{
    public float Beta1 { get; init; } = 0.9f;
    public float Beta2 { get; init; } = 0.95f;
    public float Eps { get; init; } = 1e-8f;
    public float WeightDecay { get; init; } = 0.1f;
    /// <summary>Number of updates done (t in the bias correction).</summary>
    public long Steps { get; set; }

    public IReadOnlyList<Parameter> Params { get; }
    public IReadOnlyList<float[]> M { get; }
    public IReadOnlyList<float[]> V { get; }

    public AdamW(IReadOnlyList<Parameter> parameters)
    {
        Params = parameters;
        M = parameters.Select(p => new float[p.Length]).ToArray();
        V = parameters.Select(p => new float[p.Length]).ToArray();
    }

    public void Step(float lr)
    {
        Steps++;
        float b1 = Beta1, b2 = Beta2, eps = Eps;
        float c1 = 1f / (1f - MathF.Pow(b1, Steps)), c2 = 1f / (1f - MathF.Pow(b2, Steps));
        for (int k = 0; k < Params.Count; k++)
        {
            var p = Params[k];
            float[] w = p.Value, g = p.Grad, m = M[k], v = V[k];
            float decay = p.Decay ? lr * WeightDecay : 0f;
            ParallelRange.For(w.Length, (s, e) =>
            {
                for (int i = s; i < e; i++)
                {
                    float gi = g[i];
                    float mi = m[i] = b1 * m[i] + (1 - b1) * gi;
                    float vi = v[i] = b2 * v[i] + (1 - b2) * gi * gi;
                    w[i] -= lr * (mi * c1) / (MathF.Sqrt(vi * c2) + eps) + decay * w[i];
                }
            }, minChunk: 1 << 14);
        }
    }
}
