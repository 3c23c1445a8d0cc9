using System.Globalization;
using System.Text;

namespace FrSpec.Benchmarks;

/// <summary>
/// Writes OUT/report.md and its charts (speedup.png, accept_vs_vocab.png) from a run's answer files.
/// </summary>
public static class BenchmarkReport
{
    public const string FileName = "report.md";
    public const string SpeedupChart = "speedup.png";
    public const string AcceptChart = "accept_vs_vocab.png";
    public const string DifferencesFile = "differences.tsv";
    const int MaxListedDifferences = 30;

    /// <summary>Computes the results and writes the report; returns the results for callers that print a summary.</summary>
    public static BenchmarkResults Write(string outDir, QuestionSet? questions, ScoringOptions? scoring = null)
    {
        var r = BenchmarkResults.Compute(outDir, questions, scoring);
        var charts = WriteCharts(outDir, r);
        WriteDifferences(outDir, r);
        File.WriteAllText(Path.Combine(outDir, FileName), Render(r, charts, outDir));
        return r;
    }

    /// <summary>Every output difference from vanilla as tab-separated lines (the report lists only the first ones).</summary>
    static void WriteDifferences(string outDir, BenchmarkResults r)
    {
        var path = Path.Combine(outDir, DifferencesFile);
        if (r.Differences is null || r.Differences.Values.All(d => d.Count == 0))
        {
            if (File.Exists(path)) File.Delete(path);
            return;
        }
        var sb = new StringBuilder("method\tquestion_id\tturn\tfirst_differing_position\tvanilla_length\tmethod_length\n");
        foreach (var (m, d) in r.Differences)
            foreach (var x in d) sb.Append($"{m}\t{x.QuestionId}\t{x.Turn}\t{x.Position}\t{x.VanillaLength}\t{x.MethodLength}\n");
        File.WriteAllText(path, sb.ToString());
    }

    static List<string> WriteCharts(string outDir, BenchmarkResults r)
    {
        var written = new List<string>();
        var others = r.Methods.Where(m => m.Name != r.VanillaMethod).Select(m => m.Name).ToList();
        if (r.VanillaMethod is not null && others.Count > 0)
        {
            var speedups = others.Select(m => r.Groups.Select(g => r.Speedup(m, r.VanillaMethod, g) ?? double.NaN).ToArray()).ToArray();
            ReportCharts.SpeedupBars(Path.Combine(outDir, SpeedupChart), r.Groups, others, speedups,
                $"{r.Settings.Model} on {r.Settings.DataSet}: speedup over vanilla (T={F(r.Settings.Sampling.Temperature, "0.##")})");
            written.Add(SpeedupChart);
        }
        var fr = r.Methods.Where(m => m.Spec.Kind == MethodKind.FrSpec && m.VocabSize is not null)
            .Select(m => (m.VocabSize!.Value, r.Stats[m.Name][BenchmarkResults.Overall].MeanAcceptLength)).ToList();
        if (fr.Count > 0)
        {
            double? eagle = r.Eagle2Method is null ? null : r.Stats[r.Eagle2Method][BenchmarkResults.Overall].MeanAcceptLength;
            ReportCharts.AcceptLengthVsVocab(Path.Combine(outDir, AcceptChart), fr, eagle,
                $"{r.Settings.Model} on {r.Settings.DataSet}: mean accepted length vs V'");
            written.Add(AcceptChart);
        }
        return written;
    }

    internal static string Render(BenchmarkResults r, IReadOnlyList<string> charts, string outDir)
    {
        var s = r.Settings;
        var sb = new StringBuilder();
        sb.AppendLine($"# Benchmark: {s.DataSet} on {s.Model}");
        sb.AppendLine();
        if (s.ModelNote is not null) { sb.AppendLine($"**Model:** {s.ModelNote}"); sb.AppendLine(); }
        sb.AppendLine($"- Questions measured: {r.CommonQuestions} (answered by every method)" +
            (r.IncompleteQuestions > 0 ? $"; {r.IncompleteQuestions} answered by only some methods are left out" : ""));
        sb.AppendLine($"- Max new tokens: {s.MaxNewTokens}; temperature {F(s.Sampling.Temperature, "0.###")}" +
            (s.Sampling.IsGreedy ? " (greedy)" : $", top-k {s.Sampling.TopK}, top-p {F(s.Sampling.TopP, "0.###")}, seed {s.Sampling.Seed}"));
        sb.AppendLine($"- Methods: {string.Join(", ", r.Methods.Select(m => $"`{m.Name}` ({m.Spec}{(m.VocabSize is int v ? $", V'={v}" : "")})"))}");
        sb.AppendLine($"- Answer files (Spec-Bench format): {string.Join(", ", r.Methods.Select(m => $"`{m.Name}.jsonl`"))}");
        string verdict = r.Differences is null ? r.EquivalenceNote ?? "not checked"
            : r.Differences.Values.All(d => d.Count == 0) ? "every method's token ids equal vanilla's for every question"
            : string.Join("; ", r.Differences.Where(kv => kv.Value.Count > 0).Select(kv => $"`{kv.Key}` differs on {kv.Value.Count} of {r.CommonQuestions} questions"));
        sb.AppendLine($"- Output equivalence with vanilla: {verdict}");
        sb.AppendLine($"- Written {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. Timings come from one run on one machine: compare methods within this report, not across reports.");
        sb.AppendLine();

        var names = r.Methods.Select(m => m.Name).ToList();
        Table(sb, "Tokens per second", "Σ new tokens / Σ wall time per answer turn (prefill included).",
            r.Groups, names, (g, m) => F(r.Stats[m][g].TokensPerSecond, "0.00"));
        if (r.VanillaMethod is not null && names.Count > 1)
            Table(sb, $"Speedup over vanilla (`{r.VanillaMethod}`)", "Ratio of the tokens/s above.",
                r.Groups, names.Where(n => n != r.VanillaMethod).ToList(), (g, m) => X(r.Speedup(m, r.VanillaMethod, g)));
        if (r.Eagle2Method is not null && names.Any(n => n != r.Eagle2Method && n != r.VanillaMethod))
            Table(sb, $"Speedup over EAGLE-2 (`{r.Eagle2Method}`)", "Ratio of the tokens/s above; above 1.00 means faster than EAGLE-2.",
                r.Groups, names.Where(n => n != r.Eagle2Method && n != r.VanillaMethod).ToList(), (g, m) => X(r.Speedup(m, r.Eagle2Method, g)));
        // FR-Spec over the same drafter with its full LM head, for every drafter that has both variants in the run.
        var frPairs = r.Methods.Where(m => m.Spec.FrequencyFile != null)
            .Select(m => (Fr: m.Name, Full: r.Methods.FirstOrDefault(b => b.Spec.FrequencyFile == null
                && b.Spec.Kind == (m.Spec.Kind == MethodKind.FrSpec ? MethodKind.Eagle2 : m.Spec.Kind))?.Name))
            .Where(p => p.Full != null).ToList();
        if (frPairs.Count > 0)
            Table(sb, "FR-Spec over the same drafter's full LM head", "Ratio of the tokens/s above: each FR-Spec method against its drafter without the cut (`name-fr-V'` vs `name`; `fr-V'` vs `eagle2`).",
                r.Groups, frPairs.Select(p => $"{p.Fr} / {p.Full}").ToList(),
                (g, label) => { var p = frPairs.First(x => $"{x.Fr} / {x.Full}" == label); return X(r.Speedup(p.Fr, p.Full!, g)); });
        Table(sb, "Mean accepted length", "Tokens emitted per target forward pass after prefill, averaged over all steps: accepted draft tokens plus the bonus token (vanilla = 1).",
            r.Groups, names, (g, m) => F(r.Stats[m][g].MeanAcceptLength, "0.00"));

        if (r.Trees.Count > 0)
        {
            sb.AppendLine("## Trees");
            sb.AppendLine();
            sb.AppendLine("The tree each speculative method ended its turns with: for the automatic tree (docs/speculative.md), what it chose on this machine from the measured costs and the acceptance it observed; plain decoding when it found that no tree pays. Start: whether the automatic tree's acceptance statistics started from those learned in earlier runs with the same model and drafter (warm) or from the generic prior (cold, `--cold-start` or a first run).");
            sb.AppendLine();
            sb.AppendLine("| method | most turns ended with | turns | turns ended decoding plainly | predicted accepted length | measured | start |");
            sb.AppendLine("|---|---|---:|---:|---:|---:|---|");
            foreach (var (m, t) in r.Trees)
                sb.AppendLine($"| {m} | {t.MostUsed} ({t.MostUsedTurns}) | {t.Turns} | {t.PlainTurns} | {(t.MeanPredictedAcceptLength > 0 ? F(t.MeanPredictedAcceptLength, "0.00") : "fixed")} | {F(r.Stats[m][BenchmarkResults.Overall].MeanAcceptLength, "0.00")} | {t.Start ?? "fixed"} |");
            sb.AppendLine();
        }
        foreach (var g in r.Grids)
        {
            sb.AppendLine($"## Tree grid: `{g.AutoMethod}`");
            sb.AppendLine();
            sb.AppendLine($"The automatic tree against each fixed tree, on the same questions in the same run: `{g.AutoMethod}` reaches **{F(g.AutoVsBest * 100, "0.0")}%** of the fastest fixed tree (`{g.BestGridMethod}`).");
            sb.AppendLine();
            sb.AppendLine("| method | tokens/s | mean accepted length | vs automatic |");
            sb.AppendLine("|---|---:|---:|---:|");
            double auto = r.Stats[g.AutoMethod][BenchmarkResults.Overall].TokensPerSecond;
            foreach (var m in g.GridMethods.Prepend(g.AutoMethod).OrderByDescending(m => r.Stats[m][BenchmarkResults.Overall].TokensPerSecond))
            {
                var o = r.Stats[m][BenchmarkResults.Overall];
                string label = m == g.AutoMethod ? $"**{m}** (automatic)" : m;
                sb.AppendLine($"| {label} | {F(o.TokensPerSecond, "0.00")} | {F(o.MeanAcceptLength, "0.00")} | {(auto > 0 ? F(o.TokensPerSecond / auto, "0.00") + "×" : "n/a")} |");
            }
            sb.AppendLine();
        }

        if (charts.Count > 0)
        {
            sb.AppendLine("## Charts");
            sb.AppendLine();
            foreach (var c in charts) sb.AppendLine($"![{c}]({c})");
            sb.AppendLine();
        }
        // Drafting time split.
        sb.AppendLine("## Where decode time went (all measured questions)");
        sb.AppendLine();
        sb.AppendLine("Seconds summed over all answers, as the decoders report them. LM-head share = draft LM head / (draft layers + draft LM head): the part of drafting that FR-Spec shrinks.");
        sb.AppendLine();
        sb.AppendLine("| method | draft layers s | draft LM head s | verify s | other s | LM-head share of drafting |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var m in names)
        {
            var o = r.Stats[m][BenchmarkResults.Overall];
            sb.AppendLine($"| {m} | {F(o.DraftLayersSeconds, "0.00")} | {F(o.DraftLmHeadSeconds, "0.00")} | {F(o.VerifySeconds, "0.00")} | {F(o.OtherSeconds, "0.00")} | {(o.LmHeadShareOfDrafting is double sh ? F(sh * 100, "0.0") + "%" : "n/a")} |");
        }
        sb.AppendLine();

        // Spec-Bench speed.py's own figures, for comparison with published tables.
        if (r.VanillaMethod is not null && names.Count > 1)
        {
            Table(sb, "Spec-Bench speed.py figures", "Mean of per-question tokens/s, and the ratio of those means (how Spec-Bench's evaluation/speed.py computes its speedup). Cells: tok/s (speedup).",
                r.Groups, names, (g, m) => F(r.Stats[m][g].MeanOfQuestionSpeeds, "0.00") +
                    (m == r.VanillaMethod ? "" : $" ({X(r.SpecBenchSpeedup(m, r.VanillaMethod, g))})"));
        }

        // Equivalence.
        sb.AppendLine("## Output equivalence with vanilla");
        sb.AppendLine();
        if (r.Differences is null) sb.AppendLine($"{r.EquivalenceNote}.");
        else
        {
            bool all = r.Differences.Values.All(d => d.Count == 0);
            sb.AppendLine(all
                ? $"**Identical:** under greedy decoding every method produced exactly vanilla's token ids for every turn of all {r.CommonQuestions} questions."
                : "**Not identical:** some outputs differ from vanilla's token ids (listed below: first differing turn, and the 0-based index of the first differing generated token).");
            sb.AppendLine();
            sb.AppendLine("| method | questions identical to vanilla |");
            sb.AppendLine("|---|---:|");
            foreach (var (m, d) in r.Differences) sb.AppendLine($"| {m} | {r.CommonQuestions - d.Count} / {r.CommonQuestions} |");
            sb.AppendLine();
            foreach (var (m, d) in r.Differences.Where(kv => kv.Value.Count > 0))
            {
                sb.AppendLine($"Differences of `{m}`" + (d.Count > MaxListedDifferences ? $" (first {MaxListedDifferences} of {d.Count}; all in {DifferencesFile}):" : ":"));
                sb.AppendLine();
                sb.AppendLine("| question | turn | first differing position | vanilla length | method length |");
                sb.AppendLine("|---|---:|---:|---:|---:|");
                foreach (var x in d.Take(MaxListedDifferences)) sb.AppendLine($"| {x.QuestionId} | {x.Turn} | {x.Position} | {x.VanillaLength} | {x.MethodLength} |");
                sb.AppendLine();
            }
        }
        sb.AppendLine();

        // Quality.
        if (r.Gsm8kAccuracy is not null || r.HumanEvalPass is not null || r.HumanEvalNote is not null)
        {
            sb.AppendLine("## Quality");
            sb.AppendLine();
            sb.AppendLine("Speed must come with unchanged answers: the scores below should match vanilla's.");
            sb.AppendLine();
            var header = new StringBuilder("| score |");
            var sep = new StringBuilder("|---|");
            foreach (var m in names) { header.Append($" {m} |"); sep.Append("---:|"); }
            sb.AppendLine(header.ToString());
            sb.AppendLine(sep.ToString());
            if (r.Gsm8kAccuracy is not null)
                sb.AppendLine("| GSM8K accuracy (final number) |" + string.Concat(names.Select(m => $" {Pct(r.Gsm8kAccuracy[m])} |")));
            if (r.HumanEvalPass is not null)
                sb.AppendLine("| HumanEval pass@1 |" + string.Concat(names.Select(m => $" {Pct(r.HumanEvalPass[m])} |")));
            sb.AppendLine();
            if (r.HumanEvalNote is not null) sb.AppendLine($"HumanEval: {r.HumanEvalNote}");
            if (r.HumanEvalFailures is not null && r.VanillaMethod is not null)
            {
                // Tasks whose outcome differs from vanilla's say more than the totals.
                var vanillaFailed = r.HumanEvalFailures[r.VanillaMethod].Select(f => f.TaskId).ToHashSet();
                foreach (var (m, failures) in r.HumanEvalFailures.Where(kv => kv.Key != r.VanillaMethod))
                {
                    var failed = failures.Select(f => f.TaskId).ToHashSet();
                    var newlyFailed = failed.Except(vanillaFailed).ToList();
                    var newlyPassed = vanillaFailed.Except(failed).ToList();
                    if (newlyFailed.Count + newlyPassed.Count > 0)
                        sb.AppendLine($"- HumanEval `{m}` vs vanilla: fails {(newlyFailed.Count > 0 ? string.Join(", ", newlyFailed) : "none")} that vanilla passes; passes {(newlyPassed.Count > 0 ? string.Join(", ", newlyPassed) : "none")} that vanilla fails.");
                }
            }
            sb.AppendLine();
        }

        sb.AppendLine("How these numbers are computed: docs/benchmarks.md.");
        return sb.ToString();
    }

    static void Table(StringBuilder sb, string title, string note, IReadOnlyList<string> groups, IReadOnlyList<string> methods, Func<string, string, string> cell)
    {
        sb.AppendLine($"## {title}");
        sb.AppendLine();
        sb.AppendLine(note);
        sb.AppendLine();
        sb.Append("| category |");
        foreach (var m in methods) sb.Append($" {m} |");
        sb.AppendLine();
        sb.Append("|---|");
        foreach (var _ in methods) sb.Append("---:|");
        sb.AppendLine();
        foreach (var g in groups)
        {
            sb.Append(g == BenchmarkResults.Overall ? "| **overall** |" : $"| {g} |");
            foreach (var m in methods) sb.Append($" {cell(g, m)} |");
            sb.AppendLine();
        }
        sb.AppendLine();
    }

    static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
    static string X(double? v) => v is double d ? F(d, "0.00") + "×" : "n/a";
    static string Pct(Score s) => $"{F(s.Rate * 100, "0.0")}% ({s.Correct}/{s.Total})";
}
