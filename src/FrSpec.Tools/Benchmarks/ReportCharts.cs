using System.Globalization;
using ScottPlot;

namespace FrSpec.Benchmarks;

/// <summary>PNG charts for the benchmark report (ScottPlot).</summary>
public static class ReportCharts
{
    static readonly IPalette Colors = new ScottPlot.Palettes.Category10();

    /// <summary>
    /// Grouped bars: one group per category, one bar per method, height = speedup over vanilla, labelled with its value.
    /// </summary>
    /// <param name="path">PNG file to write.</param>
    /// <param name="categories">Bar groups, left to right.</param>
    /// <param name="methods">Bars in each group (legend entries).</param>
    /// <param name="title">Chart title.</param>
    /// <param name="speedups">speedups[method][category]; NaN for a missing value.</param>
    public static void SpeedupBars(string path, IReadOnlyList<string> categories, IReadOnlyList<string> methods,
        double[][] speedups, string title)
    {
        var plot = new Plot();
        int m = methods.Count;
        double groupWidth = m + 1; // one empty slot between groups
        var bars = new List<Bar>();
        double max = 1;
        for (int j = 0; j < m; j++)
        {
            var color = Colors.GetColor(j);
            for (int c = 0; c < categories.Count; c++)
            {
                double v = speedups[j][c];
                if (double.IsNaN(v)) continue;
                max = Math.Max(max, v);
                bars.Add(new Bar
                {
                    Position = c * groupWidth + j,
                    Value = v,
                    FillColor = color,
                    Label = v.ToString("0.00", CultureInfo.InvariantCulture),
                    CenterLabel = false,
                });
            }
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = methods[j], FillColor = color });
        }
        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = m > 4 ? 10 : 12;

        var baseline = plot.Add.HorizontalLine(1.0);
        baseline.LineColor = ScottPlot.Colors.Black.WithAlpha(0.6);
        baseline.LinePattern = LinePattern.Dashed;
        baseline.LineWidth = 1;

        var ticks = categories.Select((_, c) => c * groupWidth + (m - 1) / 2.0).ToArray();
        plot.Axes.Bottom.SetTicks(ticks, categories.ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.SetLimitsX(-1, categories.Count * groupWidth - 1);
        plot.Axes.SetLimitsY(0, max * 1.18);
        plot.Title(title);
        plot.YLabel("speedup over vanilla (×)");
        plot.ShowLegend(Alignment.UpperRight);
        plot.Legend.Orientation = Orientation.Horizontal;
        int width = Math.Max(900, 90 + categories.Count * (m + 1) * 28);
        plot.SavePng(path, width, 560);
    }

    /// <summary>
    /// Mean accepted length against the draft vocabulary size V' of the FR-Spec methods, with EAGLE-2's full-vocabulary
    /// value as a dashed reference line.
    /// </summary>
    public static void AcceptLengthVsVocab(string path, IReadOnlyList<(int Vocab, double MeanAccept)> frPoints, double? eagle2MeanAccept, string title)
    {
        var plot = new Plot();
        var sorted = frPoints.OrderBy(p => p.Vocab).ToArray();
        // V' values are usually powers of two (8k, 16k, 32k, 64k): a log2 axis spaces them evenly.
        var xs = sorted.Select(p => Math.Log2(Math.Max(1, p.Vocab))).ToArray();
        var ys = sorted.Select(p => p.MeanAccept).ToArray();
        var line = plot.Add.Scatter(xs, ys, Colors.GetColor(1));
        line.LegendText = "FR-Spec";
        line.MarkerSize = 9;
        line.LineWidth = 2;
        for (int i = 0; i < xs.Length; i++)
        {
            var label = plot.Add.Text(ys[i].ToString("0.00", CultureInfo.InvariantCulture), xs[i], ys[i]);
            label.LabelFontSize = 12;
            label.LabelAlignment = Alignment.LowerCenter;
            label.OffsetY = -8;
        }
        double lo = ys.Length > 0 ? ys.Min() : 1, hi = ys.Length > 0 ? ys.Max() : 2;
        if (eagle2MeanAccept is double e)
        {
            var h = plot.Add.HorizontalLine(e);
            h.LineColor = Colors.GetColor(0);
            h.LinePattern = LinePattern.Dashed;
            h.LineWidth = 2;
            h.LegendText = "EAGLE-2 (full vocabulary) " + e.ToString("0.00", CultureInfo.InvariantCulture);
            lo = Math.Min(lo, e); hi = Math.Max(hi, e);
        }
        plot.Axes.Bottom.SetTicks(xs, sorted.Select(p => p.Vocab.ToString(CultureInfo.InvariantCulture)).ToArray());
        double xPad = xs.Length > 1 ? (xs.Max() - xs.Min()) * 0.08 : 0.5;
        if (xs.Length > 0) plot.Axes.SetLimitsX(xs.Min() - xPad, xs.Max() + xPad);
        double yPad = Math.Max(0.1, (hi - lo) * 0.25);
        plot.Axes.SetLimitsY(Math.Max(0, lo - yPad), hi + yPad);
        plot.Title(title);
        plot.XLabel("draft vocabulary size V' (log scale)");
        plot.YLabel("mean accepted length (tokens per step)");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, 900, 560);
    }
}
