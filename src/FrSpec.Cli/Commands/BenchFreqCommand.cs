using System.CommandLine;
using FrSpec.Cli.Support;
using FrSpec.Formats.Corpus;
using FrSpec.Frequency;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec bench freq`: raw tokenizer throughput (encode only) vs the counting pipeline, same threads, same
/// documents (held in memory so reading does not interfere).
/// </summary>
public sealed class BenchFreqCommand : ICliVerb
{
    public string Parent => "bench";

    public Command Create()
    {
        var cmd = new Command("freq", "Tokenizer-only vs counting throughput on the same documents and threads");
        var tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json" };
        var model = new Option<string?>("--model") { Description = "HF model folder" };
        var maxDocs = new Option<long>("--max-docs") { DefaultValueFactory = _ => 2000, Description = "documents to load" };
        var textField = new Option<string>("--text-field") { DefaultValueFactory = _ => "text", Description = "JSON field / parquet column" };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount, Description = "worker threads" };
        var corpus = new Argument<string[]>("corpus") { Arity = ArgumentArity.OneOrMore, Description = "corpus files" };
        foreach (var o in new Option[] { tokenizer, model, maxDocs, textField, threads }) cmd.Options.Add(o);
        cmd.Arguments.Add(corpus);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var tok = CliTokenizer.Load(pr.GetValue(tokenizer), pr.GetValue(model));
            var docs = new CorpusReader(pr.GetValue(corpus)!, pr.GetValue(textField)!).Documents().Take((int)Math.Min(pr.GetValue(maxDocs), int.MaxValue)).ToList();
            int t = pr.GetValue(threads);
            // Warm-up over all documents (JIT and the tokenizer's caches), then alternate encode-only and counting
            // passes so both see the same warm state; report the best of three of each.
            new FrequencyCounter(tok.Tokenizer, new FrequencyCountOptions { Threads = t, Count = false }).Run(docs);
            FrequencyCountResult? encode = null, count = null;
            for (int round = 0; round < 3; round++)
            {
                var e = new FrequencyCounter(tok.Tokenizer, new FrequencyCountOptions { Threads = t, Count = false }).Run(docs);
                var c = new FrequencyCounter(tok.Tokenizer, new FrequencyCountOptions { Threads = t }).Run(docs);
                if (encode is null || e.Wall < encode.Wall) encode = e;
                if (count is null || c.Wall < count.Wall) count = c;
            }
            Console.WriteLine($"{docs.Count:N0} documents, {count!.Tokens:N0} tokens, {t} threads (best of 3 after a warm-up pass)");
            Console.WriteLine($"tokenizer only : {encode!.TokensPerSecond,12:N0} tokens/s  ({encode.Wall.TotalSeconds:F2} s)");
            Console.WriteLine($"counting       : {count.TokensPerSecond,12:N0} tokens/s  ({count.Wall.TotalSeconds:F2} s)");
            Console.WriteLine($"counting / tokenizer-only time: {count.Wall.TotalSeconds / encode.Wall.TotalSeconds:F3}");
            Console.WriteLine(FreqCommand.ThroughputSummary(count));
            return 0;
        }));
        return cmd;
    }
}
