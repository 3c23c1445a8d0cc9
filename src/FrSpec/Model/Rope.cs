using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
        var divisors = ScalingDivisors(headDim, theta, scaling);
        _invFreq = new float[headDim / 2];
        for (int i = 0; i < _invFreq.Length; i++) _invFreq[i] = (float)(BaseFrequency(i, headDim, theta) / divisors[i]);
    }

    /// <summary>The unscaled rotation frequency of lane pair i: θ^(−2i/headDim).</summary>
    public static double BaseFrequency(int i, int headDim, double theta) => 1.0 / Math.Pow(theta, 2.0 * i / headDim);

    /// <summary>
    /// What each of the headDim/2 base frequencies is divided by: 1 without scaling; "linear" divides all by its factor;
    /// Llama-3.1's "llama3" divides long wavelengths (beyond original_max / low_freq_factor) by the factor, keeps short
    /// ones (below original_max / high_freq_factor) and interpolates in between. The one home of this rule: the GGUF
    /// exporter writes these divisors as llama.cpp's rope_freqs tensor.
    /// </summary>
    public static double[] ScalingDivisors(int headDim, double theta, RopeScaling? scaling)
    {
        var d = new double[headDim / 2];
        for (int i = 0; i < d.Length; i++)
        {
            double f = BaseFrequency(i, headDim, theta);
            d[i] = scaling switch
            {
                null => 1.0,
                { Type: "linear" } => scaling.Factor,
                { Type: "llama3" } s => Llama3Divisor(2 * Math.PI / f, s),
                { Type: "divisors", Divisors: { } given } => given[i],
                _ => throw new FrSpecException($"unsupported rope scaling type '{scaling.Type}' (supported: llama3, linear, default)"),
            };
        }
        return d;
    }

    private static double Llama3Divisor(double wavelength, RopeScaling s)
    {
        double lowWavelength = s.OriginalMaxPositions / s.LowFreqFactor, highWavelength = s.OriginalMaxPositions / s.HighFreqFactor;
        if (wavelength < highWavelength) return 1.0;
        if (wavelength > lowWavelength) return s.Factor;
        double smooth = (s.OriginalMaxPositions / wavelength - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
        return 1.0 / ((1 - smooth) / s.Factor + smooth);
    }

    /// <summary>The rotation frequency of each lane pair (radians per position).</summary>
    internal ReadOnlySpan<float> InverseFrequencies => _invFreq;

    /// <summary>Fills cos/sin tables [n, headDim/2] for the given positions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    /// <summary>Rotates one head vector in place with the table row of its token: v[i] = a·cos − b·sin and
    /// v[i + half] = b·cos + a·sin, each product and the sum its own IEEE operation, on vectors (where the machine has
    /// them) and then one at a time (the same bits either way).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply(Span<float> v, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        int half = v.Length / 2, i = 0;
        if (cos.Length < half || sin.Length < half) throw new ArgumentException("rope tables shorter than half the head");
        ref float lo = ref MemoryMarshal.GetReference(v);
        ref float hi = ref Unsafe.Add(ref lo, half);
        ref float cs = ref MemoryMarshal.GetReference(cos);
        ref float sn = ref MemoryMarshal.GetReference(sin);
        if (Vector256.IsHardwareAccelerated) // emulated vectors are slower than the plain loop
        {
            for (; i + 8 <= half; i += 8)
            {
                var a = Vector256.LoadUnsafe(ref lo, (nuint)i);
                var b = Vector256.LoadUnsafe(ref hi, (nuint)i);
                var c = Vector256.LoadUnsafe(ref cs, (nuint)i);
                var s = Vector256.LoadUnsafe(ref sn, (nuint)i);
                (a * c - b * s).StoreUnsafe(ref lo, (nuint)i);
                (b * c + a * s).StoreUnsafe(ref hi, (nuint)i);
            }
        }
        for (; i < half; i++)
        {
            float a = v[i], b = v[i + half];
            v[i] = a * cos[i] - b * sin[i];
            v[i + half] = b * cos[i] + a * sin[i];
        }
    }
}
