namespace FrSpec.Numerics.Quantized;

/// <summary>
/// Scale searches for the k-quant encoders. Rounding x/scale with the plain range-derived scale is rarely the best
/// choice: a slightly different scale moves many codes to better levels. Both searches try a small grid of scales
/// around the range-derived one; for each grid the codes are fixed and the scale (and min) that minimise the weighted
/// squared error for those codes are solved in closed form; the best fit wins. This is the approach of llama.cpp's
/// reference k-quant encoders, written here from that description.
/// </summary>
internal static class ScaleSearch
{
    private const float Tiny = 1e-15f;

    /// <summary>
    /// Fits x ≈ scale·q − min with codes q in [0, <paramref name="nmax"/>], scale ≥ 0 and min ≥ 0 (the zero point stays
    /// at or below the smallest weight, so 0 is representable when all weights are positive), minimising
    /// Σ weights·error². Returns (scale, min).
    /// </summary>
    public static (float Scale, float Min) FitAsymmetric(ReadOnlySpan<float> x, ReadOnlySpan<float> weights, int nmax)
    {
        float lo = x[0], hi = x[0];
        foreach (float v in x) { lo = MathF.Min(lo, v); hi = MathF.Max(hi, v); }
        if (lo > 0) lo = 0;
        if (hi - lo < Tiny) return (0, -lo);

        Span<byte> trial = stackalloc byte[x.Length];
        float bestScale = (hi - lo) / nmax, bestOffset = lo;
        Encode(x, 1 / bestScale, lo, nmax, trial);
        float bestError = Error(x, weights, trial, bestScale, bestOffset);
        // Grids from (nmax − 1)/(hi − lo) to (nmax + 1)/(hi − lo) codes per unit, 21 of them.
        for (int k = 0; k <= 20; k++)
        {
            float iscale = (nmax - 1 + 0.1f * k) / (hi - lo);
            Encode(x, iscale, lo, nmax, trial);
            if (!SolveAffine(x, weights, trial, out float scale, out float offset)) continue;
            float error = Error(x, weights, trial, scale, offset);
            if (error < bestError)
            {
                bestError = error; bestScale = scale; bestOffset = offset;
            }
        }
        return (bestScale, -bestOffset);
    }

    /// <summary>
    /// Fits x ≈ scale·q with signed codes q in [−nmax, nmax − 1], minimising Σ x²·error² (large weights matter most).
    /// The scale is signed: the weight of largest magnitude lands near −nmax, the side of the range with one more level.
    /// </summary>
    public static float FitSymmetric(ReadOnlySpan<float> x, int nmax)
    {
        float max = 0, amax = 0;
        foreach (float v in x)
            if (MathF.Abs(v) > amax) { amax = MathF.Abs(v); max = v; }
        if (amax < Tiny) return 0;
        float bestScale = 0;
        double bestScore = -1;
        for (int k = -9; k <= 9; k++)
        {
            float iscale = -(nmax + 0.1f * k) / max;
            double sumLx = 0, sumL2 = 0;
            foreach (float v in x)
            {
                int l = Math.Clamp((int)MathF.Round(iscale * v), -nmax, nmax - 1);
                double w = (double)v * v;
                sumLx += w * l * v;
                sumL2 += w * l * l;
            }
            // For fixed codes the best scale is sumLx/sumL2 and the error it leaves is Σw·x² − sumLx²/sumL2.
            if (sumL2 <= 0) continue;
            double score = sumLx * sumLx / sumL2;
            if (score > bestScore) { bestScore = score; bestScale = (float)(sumLx / sumL2); }
        }
        return bestScale;
    }

    private static void Encode(ReadOnlySpan<float> x, float iscale, float offset, int nmax, Span<byte> codes)
    {
        for (int i = 0; i < x.Length; i++) codes[i] = (byte)Math.Clamp((int)MathF.Round(iscale * (x[i] - offset)), 0, nmax);
    }

    /// <summary>Weighted least squares for x ≈ scale·q + offset with offset ≤ 0.</summary>
    private static bool SolveAffine(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<byte> q, out float scale, out float offset)
    {
        double sw = 0, sq = 0, sq2 = 0, sx = 0, sqx = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double wi = w[i], qi = q[i];
            sw += wi; sq += wi * qi; sq2 += wi * qi * qi; sx += wi * x[i]; sqx += wi * qi * x[i];
        }
        double det = sw * sq2 - sq * sq;
        scale = offset = 0;
        if (det <= 0 || sq2 <= 0) return false;
        double s = (sw * sqx - sx * sq) / det, o = (sq2 * sx - sq * sqx) / det;
        if (o > 0) { o = 0; s = sqx / sq2; }
        if (s <= 0) return false;
        scale = (float)s; offset = (float)o;
        return true;
    }

    private static float Error(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<byte> q, float scale, float offset)
    {
        float e = 0;
        for (int i = 0; i < x.Length; i++)
        {
            float d = scale * q[i] + offset - x[i];
            e += w[i] * d * d;
        }
        return e;
    }
}
