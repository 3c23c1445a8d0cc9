namespace FrSpec.Peer;

/// <summary>Logits of both engines at every position of one prompt, compared element by element.</summary>
internal sealed record LogitCheckResult(int Positions, double MaxAbsDiff, int WorstPosition, double MaxAbsLogit, double RmsDiff, int ArgmaxAgreements)
{
    public static LogitCheckResult Run(IPeerEngine a, IPeerEngine b, int[] prompt)
    {
        int n = prompt.Length, v = a.VocabSize;
        var la = new float[n * v];
        var lb = new float[n * v];
        a.Clear(); a.Run(prompt, allLogits: true, la); a.Clear();
        b.Clear(); b.Run(prompt, allLogits: true, lb); b.Clear();
        double maxDiff = 0, maxAbs = 0, sumSq = 0;
        int worst = 0, agree = 0;
        for (int p = 0; p < n; p++)
        {
            int argA = 0, argB = 0;
            for (int j = 0; j < v; j++)
            {
                int k = p * v + j;
                double d = Math.Abs((double)la[k] - lb[k]);
                if (d > maxDiff || double.IsNaN(d)) { maxDiff = double.IsNaN(d) ? double.PositiveInfinity : d; worst = p; }
                sumSq += d * d;
                maxAbs = Math.Max(maxAbs, Math.Abs(la[k]));
                if (la[k] > la[p * v + argA]) argA = j;
                if (lb[k] > lb[p * v + argB]) argB = j;
            }
            if (argA == argB) agree++;
        }
        return new LogitCheckResult(n, maxDiff, worst, maxAbs, Math.Sqrt(sumSq / ((double)n * v)), agree);
    }
}
