using System.Numerics.Tensors;

namespace FrSpec.Training;

/// <summary>RMSNorm y = x·r ⊙ w with r = 1/√(mean(x²)+eps), row by row, and its backward pass.</summary>
internal static class RmsNormOp
{
    /// <summary>Forward over T rows of width H; saves r per row for the backward pass.</summary>
    public static void Forward(ReadOnlySpan<float> x, int tokens, int hidden, float[] weight, float eps, Span<float> y, Span<float> rstd)
    {
        for (int t = 0; t < tokens; t++)
        {
            var xi = x.Slice(t * hidden, hidden);
            var yi = y.Slice(t * hidden, hidden);
            float r = 1f / MathF.Sqrt(TensorPrimitives.Dot(xi, xi) / hidden + eps);
            rstd[t] = r;
            TensorPrimitives.Multiply(xi, r, yi);
            TensorPrimitives.Multiply(yi, weight, yi);
        }
    }

    /// <summary>
    /// dw += Σ_t dy ⊙ x·r; dx (=, or += when <paramref name="accumulate"/>) r·(dy⊙w) − x·r³/H·Σ(dy⊙w⊙x).
    /// <paramref name="scratch"/> holds at least H floats.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int tokens, int hidden, float[] weight, ReadOnlySpan<float> rstd,
        float[] dWeight, Span<float> dx, bool accumulate, Span<float> scratch)
    {
        var g = scratch[..hidden];
        for (int t = 0; t < tokens; t++)
        {
            var xi = x.Slice(t * hidden, hidden);
            var dyi = dy.Slice(t * hidden, hidden);
            var dxi = dx.Slice(t * hidden, hidden);
            float r = rstd[t];
            // dw += dy * x * r
            TensorPrimitives.Multiply(dyi, xi, g);
            TensorPrimitives.MultiplyAdd(g, r, dWeight, dWeight);
            // g = dy * w
            TensorPrimitives.Multiply(dyi, weight, g);
            float dot = TensorPrimitives.Dot(g, xi);
            float c = -dot * r * r * r / hidden;
            if (accumulate)
            {
                TensorPrimitives.MultiplyAdd(g, r, dxi, dxi);
                TensorPrimitives.MultiplyAdd(xi, c, dxi, dxi);
            }
            else
            {
                TensorPrimitives.Multiply(g, r, dxi);
                TensorPrimitives.MultiplyAdd(xi, c, dxi, dxi);
            }
        }
    }
}
