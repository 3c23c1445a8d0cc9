namespace FrSpec.Training;

/// <summary>SwiGLU a = silu(g) ⊙ u and its backward pass (silu(g) = g·σ(g), silu'(g) = σ(g)·(1 + g·(1 − σ(g)))).</summary>
internal static class SwiGluOp
{
    public static void Forward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> act)
    {
        for (int i = 0; i < act.Length; i++)
        {
            float g = gate[i];
            act[i] = g / (1f + MathF.Exp(-g)) * up[i];
        }
    }

    public static void Backward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, ReadOnlySpan<float> dAct, Span<float> dGate, Span<float> dUp)
    {
        for (int i = 0; i < dAct.Length; i++)
        {
            float g = gate[i], s = 1f / (1f + MathF.Exp(-g));
            float silu = g * s;
            dUp[i] = dAct[i] * silu;
            dGate[i] = dAct[i] * up[i] * s * (1f + g * (1f - s));
        }
    }
}
