using System.CommandLine;
using System.Globalization;
using System.Text;
using FrSpec.Cli.Support;
using FrSpec.Formats.Corpus;
using FrSpec.Frequency;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec freq report`: how much of a held-out corpus (and of the target's own generations) each FR-Spec
/// subset size covers; table on stdout and in report.md, chart in coverage.png.
/// </summary>
public sealed class FreqReportCommand : ICliVerb
{
    public string Parent => "freq";

    public Command Create()
    {
        var cmd = new Command("report", "Coverage of FR-Spec subsets (V' = 1k..full) on held-out text and generations: table + PNG chart");
        var countsOpt = new Option<string>("--counts") { Description = "counts file from `frspec freq` (gives the ranking)", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json, to tokenize held-out text (must match the counts)" };
        var model = new Option<string?>("--model") { Description = "HF model folder (tokenizer + EOS settings)" };
        var heldout = new Option<string[]>("--heldout") { Description = "held-out corpus files (text formats as for `freq`, or counts files)", AllowMultipleArgumentsPerToken = true, Required = true };
        var generations = new Option<string?>("--generations") { Description = "JSON lines of the target's outputs: {\"ids\": [...]} or {\"text\": \"...\"}" };
        var outDir = new Option<string>("--out") { Description = "output folder (report.md, coverage.png, coverage.csv)", Required = true };
        var textField = new Option<string>("--text-field") { DefaultValueFactory = _ => "text", Description = "JSON field / parquet column with the text" };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount, Description = "worker threads" };
        var title = new Option<string?>("--title") { Description = "chart title" };
        var force = new Option<bool>("--force") { Description = "replace --out even when it already holds files" };
        foreach (var o in new Option[] { countsOpt, tokenizer, model, heldout, generations, outDir, textField, threads, title, force }) cmd.Options.Add(o);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var counts = TokenCounts.Load(pr.GetValue(countsOpt)!);
            var tok = CliTokenizer.TryLoad(pr.GetValue(tokenizer), pr.GetValue(model));
            if (tok != null)
            {
                if (tok.Tokenizer.VocabSize != counts.VocabSize)
                    throw new FrSpecException($"tokenizer has {tok.Tokenizer.VocabSize} ids but the counts file has {counts.VocabSize}: different tokenizers");
                if (counts.TokenizerSha256.Length > 0 && !counts.TokenizerSha256.AsSpan().SequenceEqual(TokenCounts.FingerprintOf(tok.TokenizerFile)))
                    Console.Error.WriteLine($"warning: {tok.TokenizerFile} differs from the tokenizer the counts were made with ({counts.TokenizerName})");
            }
            IReadOnlyList<int> required = tok?.ControlIds() ?? [];
            var ranking = counts.Ranking();
            string? gen = pr.GetValue(generations);
            string dir = pr.GetValue(outDir)!;
            var inputs = pr.GetValue(heldout)!.Select(f => new OutputFolder.Input(f, "--heldout"))
                .Append(new OutputFolder.Input(pr.GetValue(countsOpt), "--counts")).Append(new OutputFolder.Input(gen, "--generations"))
                .Append(new OutputFolder.Input(tok?.TokenizerFile, "--tokenizer")).Append(new OutputFolder.Input(tok?.ModelDir, "--model")).ToArray();
            using var output = OutputFolder.Begin(dir, pr.GetValue(force), "--out", inputs);

            var series = new List<(string name, long[] evalCounts)>();
            var heldoutCounts = HeldoutCounts(pr.GetValue(heldout)!, counts.VocabSize, tok, pr.GetValue(textField)!, pr.GetValue(threads), counts.AddSpecialTokens);
            series.Add(("held-out corpus", heldoutCounts));
            if (gen != null) series.Add(("target generations", SubsetCoverage.CountGenerations(gen, counts.VocabSize, tok?.Tokenizer)));
            series.Add(("training corpus (in-sample)", counts.Counts));

            var sizes = SubsetCoverage.ReportSizes(counts.VocabSize);
            var table = series.Select(s => SubsetCoverage.Curve(ranking, required, s.evalCounts, sizes)).ToList();

            var md = new StringBuilder();
            md.AppendLine($"# FR-Spec subset coverage");
            md.AppendLine();
            md.AppendLine($"Ranking: `{Path.GetFileName(pr.GetValue(countsOpt))}` ({counts.TokenizerName}, {counts.TotalTokens:N0} tokens from {counts.Documents:N0} documents, vocabulary {counts.VocabSize:N0}). " +
                          $"Required special ids forced into every subset: {(required.Count == 0 ? "none (no tokenizer given)" : string.Join(", ", required))}.");
            md.AppendLine();
            for (int s = 0; s < series.Count; s++)
                md.AppendLine($"- {series[s].name}: {series[s].evalCounts.Sum():N0} tokens");
            md.AppendLine();
            md.AppendLine("| V' | " + string.Join(" | ", series.Select(s => s.name)) + " |");
            md.AppendLine("|---:|" + string.Concat(series.Select(_ => "---:|")));
            var csv = new StringBuilder("size," + string.Join(",", series.Select(s => s.name.Replace(',', ' '))) + "\n");
            for (int i = 0; i < sizes.Length; i++)
            {
                md.AppendLine($"| {table[0][i].Size:N0} | " + string.Join(" | ", table.Select(t => (t[i].Coverage * 100).ToString("F2", CultureInfo.InvariantCulture) + "%")) + " |");
                csv.AppendLine(table[0][i].Size.ToString(CultureInfo.InvariantCulture) + "," + string.Join(",", table.Select(t => t[i].Coverage.ToString("F6", CultureInfo.InvariantCulture))));
            }
            md.AppendLine();
            md.AppendLine("Coverage = share of the evaluation tokens whose id is in the subset (an upper bound on how often the FR-Spec draft can propose the token the target emits). Chart: `coverage.png`.");
            File.WriteAllText(output.File("report.md"), md.ToString());
            File.WriteAllText(output.File("coverage.csv"), csv.ToString());

            var chartSizes = SubsetCoverage.ChartSizes(counts.VocabSize);
            var chartSeries = series.Select(s => (s.name, SubsetCoverage.Curve(ranking, required, s.evalCounts, chartSizes))).ToList();
            CoverageChart.Save(output.File("coverage.png"), pr.GetValue(title) ?? $"FR-Spec subset coverage ({counts.TokenizerName})", chartSeries, counts.VocabSize);

            output.Commit();
            Console.WriteLine(md.ToString());
            Console.WriteLine($"wrote {Path.Combine(dir, "report.md")}, coverage.csv and coverage.png");
            return 0;
        }));
        return cmd;
    }

    private static long[] HeldoutCounts(string[] files, int vocab, CliTokenizer? tok, string textField, int threads, bool addSpecial)
    {
        var total = new long[vocab];
        var textFiles = new List<string>();
        foreach (var f in files)
        {
            if (IsCountsFile(f))
            {
                var c = TokenCounts.Load(f);
                if (c.VocabSize != vocab) throw new FrSpecException($"{f}: counts over {c.VocabSize} ids, the ranking has {vocab}");
                for (int i = 0; i < vocab; i++) total[i] += c.Counts[i];
            }
            else textFiles.Add(f);
        }
        if (textFiles.Count > 0)
        {
            if (tok is null) throw new FrSpecException("--heldout text files need --tokenizer or --model");
            var reader = new CorpusReader(textFiles, textField);
            var counter = new FrequencyCounter(tok.Tokenizer, new FrequencyCountOptions { Threads = threads, AddSpecialTokens = addSpecial });
            var r = CountingProgressView.Run("held-out", counter, reader, null, null);
            for (int i = 0; i < vocab; i++) total[i] += r.Counts[i];
        }
        return total;
    }

    private static bool IsCountsFile(string path)
    {
        if (!File.Exists(path)) throw new FrSpecException($"{path}: file not found");
        string n = path.ToLowerInvariant();
        return n.EndsWith(".bin") || n.EndsWith(".bin.gz");
    }
}
