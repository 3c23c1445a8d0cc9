using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FrSpec.Cli.Support;
using FrSpec.Formats.Corpus;
using FrSpec.Formats.Torch;
using FrSpec.Frequency;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec freq`: counts token frequencies over corpora as FR-Spec's fr/fr.py does and writes the counts file
/// plus freq_&lt;V&gt;.pt subsets in the official format (docs/frequency.md).
/// </summary>
public sealed class FreqCommand : ICliVerb
{
    public Command Create()
    {
        var cmd = new Command("freq", "Count token frequencies over a corpus and write FR-Spec freq_<V>.pt subsets (see docs/frequency.md)");
        var tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json (or a folder holding it)" };
        var model = new Option<string?>("--model") { Description = "HF model folder (tokenizer.json; EOS ids from generation_config.json/config.json/tokenizer_config.json)" };
        var outDir = new Option<string>("--out") { Description = "output folder", Required = true };
        var sizes = new Option<string>("--sizes") { Description = "subset sizes, comma separated", DefaultValueFactory = _ => "8192,16384,32768,65536" };
        var maxDocs = new Option<long?>("--max-docs") { Description = "count only the first N documents (fr.py's --num_lines)" };
        var maxTokens = new Option<long?>("--max-tokens") { Description = "stop once about N tokens were counted" };
        var textField = new Option<string>("--text-field") { Description = "JSON field / parquet column with the text", DefaultValueFactory = _ => "text" };
        var threads = new Option<int>("--threads") { Description = "worker threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var noSpecial = new Option<bool>("--no-special-tokens") { Description = "encode without add_special_tokens (fr.py counts BOS; default does too)" };
        var countsName = new Option<string>("--counts-name") { Description = "counts file name in --out (.gz = gzip)", DefaultValueFactory = _ => "counts.bin.gz" };
        var force = new Option<bool>("--force") { Description = "replace --out even when it already holds files" };
        var corpus = new Argument<string[]>("corpus") { Description = ".txt, .jsonl, .jsonl.zst, .jsonl.gz or .parquet files", Arity = ArgumentArity.OneOrMore };
        foreach (var o in new Option[] { tokenizer, model, outDir, sizes, maxDocs, maxTokens, textField, threads, noSpecial, countsName, force }) cmd.Options.Add(o);
        cmd.Arguments.Add(corpus);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var tok = CliTokenizer.Load(pr.GetValue(tokenizer), pr.GetValue(model));
            var sizeList = ParseSizes(pr.GetValue(sizes)!, tok.Tokenizer.VocabSize);
            string dir = pr.GetValue(outDir)!;
            var reader = new CorpusReader(pr.GetValue(corpus)!, pr.GetValue(textField)!);
            var inputs = reader.Paths.Select(p => new OutputFolder.Input(p, "corpus file"))
                .Append(new OutputFolder.Input(tok.TokenizerFile, "--tokenizer")).Append(new OutputFolder.Input(tok.ModelDir, "--model")).ToArray();
            using var output = OutputFolder.Begin(dir, pr.GetValue(force), "--out", inputs);
            string countsPath = output.File(pr.GetValue(countsName)!, "--counts-name");
            var options = new FrequencyCountOptions
            {
                Threads = pr.GetValue(threads),
                MaxDocuments = pr.GetValue(maxDocs),
                MaxTokens = pr.GetValue(maxTokens),
                AddSpecialTokens = !pr.GetValue(noSpecial),
            };
            var counter = new FrequencyCounter(tok.Tokenizer, options);
            var result = CountingProgressView.Run("counting", counter, reader, options.MaxDocuments, options.MaxTokens);
            if (result.Documents == 0 || result.Tokens == 0)
                throw new FrSpecException($"the corpus ({string.Join(", ", reader.Paths)}) holds no text: nothing to count, no frequency file written");

            var counts = new TokenCounts(result.Counts, result.Documents, TokenCounts.FingerprintOf(tok.TokenizerFile),
                Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(tok.TokenizerFile))) + "/" + Path.GetFileName(tok.TokenizerFile), options.AddSpecialTokens);
            counts.Save(countsPath);

            var required = tok.ControlIds();
            var ranking = counts.Ranking();
            var written = new List<object>();
            foreach (var v in sizeList)
            {
                var subset = FrequencySubset.FromRanking(ranking, v, required);
                string file = output.File($"freq_{v}.pt");
                TorchCheckpointWriter.WriteIntList(file, subset.Ids); // as FR-Spec's fr.py saves it
                written.Add(new { size = v, file = Path.GetFileName(file), in_sample_coverage = SubsetCoverage.Coverage(subset.Ids, counts.Counts) });
            }

            Console.WriteLine($"counted {result.Documents:N0} documents, {result.Tokens:N0} tokens ({result.TextChars:N0} chars) in {result.Wall.TotalSeconds:F1} s on {result.Threads} threads");
            Console.WriteLine(ThroughputSummary(result));
            Console.WriteLine($"required special ids ({required.Count}): {string.Join(", ", required.Select(id => $"{id} {tok.Tokenizer.IdToToken(id)}"))}");

            var summary = new
            {
                tokenizer = counts.TokenizerName,
                tokenizer_sha256 = counts.TokenizerFingerprint,
                add_special_tokens = options.AddSpecialTokens,
                documents = result.Documents,
                tokens = result.Tokens,
                vocab_size = counts.VocabSize,
                distinct_ids_seen = counts.Counts.Count(c => c > 0),
                required_ids = required,
                subsets = written,
                corpus = reader.Paths.Select(Path.GetFileName),
                seconds = Math.Round(result.Wall.TotalSeconds, 1),
                threads = result.Threads,
            };
            File.WriteAllText(output.File("freq.json"), JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }) + "\n");
            output.Commit();
            Console.WriteLine($"wrote {Path.GetFileName(countsPath)} and {string.Join(", ", sizeList.Select(v => $"freq_{v}.pt"))} in {dir}");
            return 0;
        }));
        return cmd;
    }

    /// <summary>Pipeline throughput, plus the split of worker time between encoding and counting.</summary>
    internal static string ThroughputSummary(FrequencyCountResult r)
    {
        double encodeOnly = r.Tokens / Math.Max(r.EncodeTime.TotalSeconds / r.Threads, 1e-9);
        double overhead = r.CountTime.TotalSeconds / Math.Max(r.EncodeTime.TotalSeconds, 1e-9);
        return string.Create(CultureInfo.InvariantCulture,
            $"throughput: counting pipeline {r.TokensPerSecond:N0} tokens/s (wall); tokenizer alone {encodeOnly:N0} tokens/s " +
            $"(encode time per thread, same run); counting adds {overhead * 100:F2}% on top of encoding");
    }

    internal static int[] ParseSizes(string text, int vocab)
    {
        var result = new SortedSet<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v <= 0)
                throw new FrSpecException($"--sizes: '{part}' is not a positive integer");
            if (v > vocab) throw new FrSpecException($"--sizes: {v} is larger than the vocabulary ({vocab})");
            result.Add(v);
        }
        if (result.Count == 0) throw new FrSpecException("--sizes: no sizes given");
        return result.ToArray();
    }
}
