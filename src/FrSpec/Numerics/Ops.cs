using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace FrSpec.Numerics;

/// <summary>Element-wise and row-wise operations of a Llama-style decoder, on f32 activations.</summary>
public static class Ops
{
    /// <summary>RMSNorm of one row: out = x / sqrt(mean(x²) + eps) ⊙ weight (weight may be empty = ones).</summary>
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> output)
    {
        float ss = TensorPrimitives.Dot(x, x);
        float scale = 1f / MathF.Sqrt(ss / x.Length + eps);
        if (weight.IsEmpty) TensorPrimitives.Multiply(x, scale, output);
        else
        {
            TensorPrimitives.Multiply(x, scale, output);
            TensorPrimitives.Multiply(output, weight, output);
        }
    }

    /// <summary>gate ← silu(gate) ⊙ up, the SwiGLU activation.</summary>
    public static void SiluMul(Span<float> gate, ReadOnlySpan<float> up)
    {
        // silu(g) = g * sigmoid(g), 8 lanes at a time; the tail goes through the same vector code (padded), so each
        // element's result is independent of the row count (batch invariance)
        if (up.Length < gate.Length) throw new ArgumentException("up shorter than gate");
        Span<float> g8 = stackalloc float[8], u8 = stackalloc float[8];
        for (int i = 0; i < gate.Length; i += 8)
        {
            int k = Math.Min(8, gate.Length - i);
            Vector256<float> g, u;
            if (k == 8) { g = Vector256.Create(gate.Slice(i, 8)); u = Vector256.Create(up.Slice(i, 8)); }
            else
            {
                g8.Clear(); u8.Clear();
                gate.Slice(i, k).CopyTo(g8); up.Slice(i, k).CopyTo(u8);
                g = Vector256.Create(g8); u = Vector256.Create(u8);
            }
            var r = g / (Vector256<float>.One + VectorExp.Exp8(-g)) * u;
            if (k == 8) r.CopyTo(gate.Slice(i, 8));
            else { r.CopyTo(g8); g8[..k].CopyTo(gate.Slice(i, k)); }
        }
    }

    /// <summary>In-place softmax with max subtraction.</summary>
    public static void Softmax(Span<float> x)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, x);
        TensorPrimitives.Exp(x, x);
        float sum = TensorPrimitives.Sum(x);
        TensorPrimitives.Multiply(x, 1f / sum, x);
    }

    /// <summary>log-softmax into output.</summary>
    public static void LogSoftmax(ReadOnlySpan<float> x, Span<float> output)
    {
        float max = TensorPrimitives.Max(x);
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += MathF.Exp(x[i] - max);
        float lse = max + (float)Math.Log(sum);
        TensorPrimitives.Subtract(x, lse, output);
    }

    public static int ArgMax(ReadOnlySpan<float> x) => TensorPrimitives.IndexOfMax(x);
}
