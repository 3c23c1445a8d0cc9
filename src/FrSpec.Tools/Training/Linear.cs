using System.Numerics.Tensors;
using FrSpec.Numerics;

namespace FrSpec.Training;

/// <summary>A Linear layer y = x·Wᵀ + b (W is [out, in] as in HF files) and its backward pass.</summary>
internal static class Linear
{
    /// <summary>y[T, out] = x[T, in]·Wᵀ (+ b).</summary>
    public static void Forward(ReadOnlySpan<float> x, int tokens, Parameter w, Parameter? b, Span<float> y)
    {
        int outDim = (int)w.Shape[0], inDim = (int)w.Shape[1];
        Gemm.MultiplyNT(x[..(tokens * inDim)], w.Value, y[..(tokens * outDim)], tokens, inDim, outDim);
        if (b != null)
            for (int t = 0; t < tokens; t++) TensorPrimitives.Add(y.Slice(t * outDim, outDim), b.Value, y.Slice(t * outDim, outDim));
    }

    /// <summary>dW += dyᵀ·x, db += Σ dy, and dx = dy·W (added to dx when <paramref name="accumulateDx"/>; skipped when dx is empty).</summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int tokens, Parameter w, Parameter? b, Span<float> dx, bool accumulateDx)
    {
        int outDim = (int)w.Shape[0], inDim = (int)w.Shape[1];
        Gemm.MultiplyTN(dy[..(tokens * outDim)], x[..(tokens * inDim)], w.Grad, outDim, tokens, inDim, accumulate: true);
        if (b != null)
            for (int t = 0; t < tokens; t++) TensorPrimitives.Add(b.Grad, dy.Slice(t * outDim, outDim), b.Grad);
        if (!dx.IsEmpty) Gemm.MultiplyNN(dy[..(tokens * outDim)], w.Value, dx[..(tokens * inDim)], tokens, outDim, inDim, accumulateDx);
    }
}
