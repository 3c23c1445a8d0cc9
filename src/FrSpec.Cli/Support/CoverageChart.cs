using FrSpec.Frequency;

namespace FrSpec.Cli.Support;

/// <summary>PNG chart of cumulative coverage vs V' (log2 x-axis) with ScottPlot.</summary>
internal static class CoverageChart
{
    public static void Save(string path, string title, IReadOnlyList<(string name, CoveragePoint[] points)> series, int vocabSize)
    {
        var plt = new ScottPlot.Plot();
        double minX = double.MaxValue;
        double minY = 100;
        foreach (var (name, points) in series)
        {
            var xs = points.Select(p => Math.Log2(p.Size)).ToArray();
            var ys = points.Select(p => p.Coverage * 100).ToArray();
            var sc = plt.Add.Scatter(xs, ys);
            sc.LegendText = name;
            sc.MarkerSize = 0;
            sc.LineWidth = 2;
            minX = Math.Min(minX, xs.Min());
            minY = Math.Min(minY, ys.Min());
        }
        foreach (var v in new[] { 8192, 16384, 32768, 65536 })
        {
            if (v >= vocabSize) continue;
            var line = plt.Add.VerticalLine(Math.Log2(v));
            line.LineWidth = 1;
            line.Color = ScottPlot.Colors.Gray.WithAlpha(0.6);
            line.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        var ticks = new List<double>();
        var labels = new List<string>();
        for (int e = 8; (1 << e) < vocabSize * 0.8; e++)
        {
            int v = 1 << e;
            if (Math.Log2(v) < minX - 1e-9) continue;
            ticks.Add(e);
            labels.Add(v >= 1024 ? $"{v / 1024}k" : v.ToString());
        }
        ticks.Add(Math.Log2(vocabSize));
        labels.Add($"{vocabSize / 1000.0:0.#}k (all)");
        plt.Axes.Bottom.SetTicks(ticks.ToArray(), labels.ToArray());
        plt.Axes.SetLimitsX(minX - 0.1, Math.Log2(vocabSize) + 0.3);
        plt.Axes.SetLimitsY(Math.Max(0, Math.Floor(minY / 5) * 5 - 2), 100.5);
        plt.Title(title);
        plt.XLabel("V' = draft vocabulary size (log scale; dashed: 8k, 16k, 32k, 64k)");
        plt.YLabel("tokens covered by the subset (%)");
        plt.ShowLegend(ScottPlot.Alignment.LowerRight);
        plt.SavePng(path, 960, 600);
    }
}
