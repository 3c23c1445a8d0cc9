namespace FrSpec.Tests.Speculative;

/// <summary>Pearson's chi-square goodness-of-fit test with the regularized upper incomplete gamma for the p-value.</summary>
internal static class ChiSquare
{
    /// <summary>
    /// p-value of observed counts against expected probabilities (summing to 1). Categories expected fewer than 5 times
    /// are pooled into one bin, as the test's approximation requires.
    /// </summary>
    public static (double Statistic, int Df, double P) Test(IReadOnlyDictionary<long, int> observed, IReadOnlyDictionary<long, double> expected, int n)
    {
        double stat = 0, pooledExp = 0;
        long pooledObs = 0;
        int bins = 0;
        foreach (var (key, p) in expected)
        {
            double e = p * n;
            int o = observed.TryGetValue(key, out var c) ? c : 0;
            if (e < 5) { pooledExp += e; pooledObs += o; continue; }
            stat += (o - e) * (o - e) / e;
            bins++;
        }
        // outcomes the expectation says are impossible go to the pooled bin too
        foreach (var (key, o) in observed) if (!expected.ContainsKey(key)) pooledObs += o;
        if (pooledExp > 0) { stat += (pooledObs - pooledExp) * (pooledObs - pooledExp) / pooledExp; bins++; }
        else if (pooledObs > 0) return (double.PositiveInfinity, bins - 1, 0);
        int df = bins - 1;
        return (stat, df, UpperGamma(df / 2.0, stat / 2.0));
    }

    /// <summary>Q(a, x) = Γ(a, x) / Γ(a): series for x &lt; a + 1, else Lentz's continued fraction.</summary>
    public static double UpperGamma(double a, double x)
    {
        if (x <= 0) return 1;
        double lnPrefix = a * Math.Log(x) - x - LogGamma(a);
        if (x < a + 1)
        {
            double sum = 1 / a, term = sum;
            for (int n = 1; n < 10000; n++) { term *= x / (a + n); sum += term; if (term < sum * 1e-15) break; }
            return Math.Max(0, 1 - Math.Exp(lnPrefix) * sum);
        }
        double b = x + 1 - a, c = 1e300, d = 1 / b, h = d;
        for (int i = 1; i < 10000; i++)
        {
            double an = -i * (i - a);
            b += 2;
            d = an * d + b; if (Math.Abs(d) < 1e-300) d = 1e-300;
            c = b + an / c; if (Math.Abs(c) < 1e-300) c = 1e-300;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-15) break;
        }
        return Math.Exp(lnPrefix) * h;
    }

    /// <summary>ln Γ(x) by the Lanczos approximation (g = 7, n = 9).</summary>
    public static double LogGamma(double x)
    {
        double[] c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        x -= 1;
        double a = c[0], t = x + 7.5;
        for (int i = 1; i < 9; i++) a += c[i] / (x + i);
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(a);
    }
}
