namespace FrSpec.Training;

/// <summary>
/// Rotary embedding on a [T, heads·headDim] buffer in HF's rotate_half layout, with cos/sin tables [T, headDim/2]
/// from <see cref="Model.Rope.Tables"/>. The rotation is orthogonal, so the backward pass rotates by the opposite angle.
/// </summary>
internal static class RopeOp
{
    public static void Apply(Span<float> v, int tokens, int heads, int headDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, bool inverse)
    {
        int half = headDim / 2, stride = heads * headDim;
        float sign = inverse ? -1f : 1f;
        for (int t = 0; t < tokens; t++)
        {
            var c = cos.Slice(t * half, half);
            var s = sin.Slice(t * half, half);
            for (int h = 0; h < heads; h++)
            {
                var x = v.Slice(t * stride + h * headDim, headDim);
                for (int i = 0; i < half; i++)
                {
                    float a = x[i], b = x[i + half], sn = sign * s[i];
                    x[i] = a * c[i] - b * sn;
                    x[i + half] = b * c[i] + a * sn;
                }
            }
        }
    }
}
