namespace FrSpec.Model;

/// <summary>
/// Rotary position embedding in HF's half-split ("rotate_half") layout: lane i pairs with lane i + headDim/2,
/// inv_freq[i] = θ^(−2i/headDim), optionally rescaled as Llama-3.1's "llama3" rope_scaling does.
/// </summary>
public sealed class Rope
{
    private readonly float[] _invFreq;
    public int HeadDim { get; }

    public Rope(int headDim, double theta, RopeScaling? scaling = null)
    {
        HeadDim = headDim;
        int half = headDim / 2;
        _invFreq = new float[half];
        for (int i = 0; i < half; i++)
        {
            double f = 1.0 / Math.Pow(theta, 2.0 * i / headDim);
            if (scaling is { Type: "llama3" } s)
            {
                double lowWavelen = s.OriginalMaxPositions / s.LowFreqFactor;
                double highWavelen = s.OriginalMaxPositions / s.HighFreqFactor;
                double wavelen = 2 * Math.PI / f;
                if (wavelen > lowWavelen) f /= s.Factor;
                else if (wavelen >= highWavelen)
                {
                    double smooth = (s.OriginalMaxPositions / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                    f = (1 - smooth) * f / s.Factor + smooth * f;
                }
            }
            else if (scaling is { Type: "linear" } lin) f /= lin.Factor;
            else if (scaling is { Type: "divisors", Divisors: { } divisors }) f /= divisors[i];
            _invFreq[i] = (float)f;
        }
    }

    /// <summary>The rotation frequency of each lane pair (radians per position).</summary>
    internal ReadOnlySpan<float> InverseFrequencies => _invFreq;

    /// <summary>Fills cos/sin tables [n, headDim/2] for the given positions.</summary>
    public void Tables(ReadOnlySpan<int> positions, Span<float> cos, Span<float> sin)
    {
        int half = HeadDim / 2;
        for (int t = 0; t < positions.Length; t++)
            for (int i = 0; i < half; i++)
            {
                // angle in float as HF computes it (inv_freq float32 × position float32)
                float angle = _invFreq[i] * positions[t];
                cos[t * half + i] = MathF.Cos(angle);
                sin[t * half + i] = MathF.Sin(angle);
            }
    }

    /// <summary>Rotates one head vector in place with the table row of its token.</summary>
    public static void Apply(Span<float> v, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        int half = v.Length / 2;
        for (int i = 0; i < half; i++)
        {
            float a = v[i], b = v[i + half];
            v[i] = a * cos[i] - b * sin[i];
            v[i + half] = b * cos[i] + a * sin[i];
        }
    }
}
