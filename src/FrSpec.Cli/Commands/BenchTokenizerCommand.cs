using FrSpec.Cli.Support;
using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using FrSpec.Text;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec bench tokenizer`: FrSpec's tokenizer throughput (one thread and all cores) on a corpus file, beside the JS
/// reference tokenizer's (transformers.js, under node) measured in the same run on the same texts.
/// </summary>
public sealed class BenchTokenizerCommand : ICliVerb
{
    public string Parent => "bench";

    public Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "tokenizer.json or a model directory holding one", Required = true };
        var maxMb = new Option<double>("--max-mb") { Description = "use at most this many MB of text from the corpus", DefaultValueFactory = _ => 16 };
        var jsMb = new Option<double>("--js-mb") { Description = "MB of the same text given to the JS reference (it is slower)", DefaultValueFactory = _ => 2 };
        var threads = new Option<int>("--threads") { Description = "threads for the all-cores run (0 = all cores)", DefaultValueFactory = _ => 0 };
        var noJs = new Option<bool>("--no-js") { Description = "skip the JS reference" };
        var nodeModules = new Option<string?>("--node-modules") { Description = "node_modules folder holding @lenml/tokenizers (default: the FrSpec cache, installed with npm when missing)" };
        var corpus = new Argument<string>("corpus") { Description = "a .txt file, or .jsonl / .jsonl.zst with a \"text\" field per line" };
        var cmd = new Command("tokenizer", "Tokenizer throughput (tokens/s, MB/s) on a corpus, single thread and all cores, beside the JS reference");
        foreach (var o in new Option[] { tokenizer, maxMb, jsMb, threads, noJs, nodeModules }) cmd.Options.Add(o);
        cmd.Arguments.Add(corpus);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var tok = TokenizerLoader.Load(pr.GetValue(tokenizer)!);
            var path = pr.GetValue(corpus)!;
            long maxBytes = (long)(pr.GetValue(maxMb) * 1_000_000);
            var texts = new List<string>();
            long taken = 0;
            foreach (var doc in new FrSpec.Formats.Corpus.CorpusReader([path]).Documents())
            {
                if (taken >= maxBytes) break;
                texts.Add(doc);
                taken += Encoding.UTF8.GetByteCount(doc);
            }
            if (texts.Count == 0) throw new FrSpecException($"{path}: no text found");
            long bytes = texts.Sum(t => (long)Encoding.UTF8.GetByteCount(t));
            int n = pr.GetValue(threads) is > 0 and var t0 ? t0 : Environment.ProcessorCount;
            Console.Error.WriteLine($"corpus {path}: {texts.Count} documents, {bytes / 1e6:F1} MB");

            // Fresh tokenizers (empty BPE cache) for the first single- and multi-threaded passes, as in a counting run;
            // then a second single-threaded pass with the cache warm. JIT warm-up on a small unrelated text first.
            var path0 = pr.GetValue(tokenizer)!;
            foreach (var w in new[] { "warm up the JIT: Hello, world! 123 \n\t 你好 😀" }) tok.Encode(w);
            var (tokens1, single) = Time(tok, texts, 1);
            var (_, warm) = Time(tok, texts, 1);
            var fresh = TokenizerLoader.Load(path0);
            fresh.Encode("warm up the JIT: Hello, world! 123");
            var (tokensN, multi) = Time(fresh, texts, n);
            if (tokensN != tokens1) throw new InvalidOperationException("multi-threaded encoding gave a different token count");
            var rows = new List<(string Name, long Tokens, long Bytes, double Seconds)>
            {
                ("FrSpec, 1 thread", tokens1, bytes, single),
                ($"FrSpec, {n} threads", tokensN, bytes, multi),
                ("FrSpec, 1 thr., warm", tokens1, bytes, warm),
            };
            string? note = null;
            if (!pr.GetValue(noJs))
            {
                var js = RunJs(tok, pr.GetValue(tokenizer)!, texts, (long)(pr.GetValue(jsMb) * 1_000_000), pr.GetValue(nodeModules), out note);
                if (js is { } r) rows.Add(r);
            }
            Console.WriteLine($"{"tokenizer",-22} {"tokens",12} {"MB",8} {"seconds",8} {"tokens/s",12} {"MB/s",8}");
            foreach (var (name, tk, b, s) in rows)
                Console.WriteLine($"{name,-22} {tk,12:N0} {b / 1e6,8:F2} {s,8:F2} {tk / s,12:N0} {b / 1e6 / s,8:F2}");
            if (note is not null) Console.WriteLine(note);
            return 0;
        }));
        return cmd;
    }

    private static (long Tokens, double Seconds) Time(ITokenizer tok, List<string> texts, int threads)
    {
        var sw = Stopwatch.StartNew();
        long tokens = 0;
        if (threads == 1)
            foreach (var t in texts) tokens += tok.Encode(t).Length;
        else
            Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, texts.Count, Math.Max(1, Math.Min(16, texts.Count / (4 * threads)))),
                new ParallelOptions { MaxDegreeOfParallelism = threads },
                () => 0L, (range, _, local) => { for (int i = range.Item1; i < range.Item2; i++) local += tok.Encode(texts[i]).Length; return local; },
                local => Interlocked.Add(ref tokens, local));
        return (tokens, sw.Elapsed.TotalSeconds);
    }

    private static (string, long, long, double)? RunJs(ITokenizer tok, string tokenizerPath, List<string> texts, long maxBytes, string? modules, out string? note)
    {
        var nodeModules = NodeReference.Locate(modules, out var reason);
        if (nodeModules is null) { note = $"JS reference skipped: {reason}"; return null; }
        var dir = Directory.Exists(tokenizerPath) ? tokenizerPath : Path.GetDirectoryName(Path.GetFullPath(tokenizerPath))!;
        if (!File.Exists(Path.Combine(dir, "tokenizer.json")))
        {
            note = "JS reference skipped: it needs the file to be named tokenizer.json";
            return null;
        }
        var subset = new List<string>();
        long b = 0;
        foreach (var t in texts) { if (b >= maxBytes) break; subset.Add(t); b += Encoding.UTF8.GetByteCount(t); }
        var work = Path.Combine(Path.GetTempPath(), "frspec-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            var script = NodeReference.ExtractScript(work);
            var sb = new StringBuilder("{\"bench\":{\"seconds\":3,\"texts\":[");
            for (int i = 0; i < subset.Count; i++) { if (i > 0) sb.Append(','); NodeReference.JsonString(sb, subset[i]); }
            sb.Append("]}}");
            File.WriteAllText(Path.Combine(work, "in.json"), sb.ToString());
            var (code, _, err) = NodeReference.Run(NodeReference.FindOnPath("node")!,
                $"\"{script}\" \"{dir}\" \"{Path.Combine(work, "in.json")}\" \"{Path.Combine(work, "out.json")}\"", nodeModules, TimeSpan.FromMinutes(10));
            if (code != 0) { note = $"JS reference failed: {err.Trim()}"; return null; }
            using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(work, "out.json")));
            var r = doc.RootElement.GetProperty("bench");
            long jsTokens = r.GetProperty("tokens").GetInt64();
            long jsBytes = r.GetProperty("bytes").GetInt64();
            double seconds = r.GetProperty("seconds").GetDouble();
            // Same texts, same tokenizer: the token counts per round must agree.
            long ours = subset.Sum(t => (long)tok.Encode(t).Length);
            long rounds = Math.Max(1, jsBytes / Math.Max(1, b));
            note = jsTokens == ours * rounds
                ? $"JS reference ran on the first {b / 1e6:F2} MB ({rounds} rounds); its token count equals FrSpec's."
                : $"WARNING: JS reference counted {jsTokens / rounds:N0} tokens per round on the first {b / 1e6:F2} MB, FrSpec {ours:N0}.";
            return ("JS (node), 1 thread", jsTokens, jsBytes, seconds);
        }
        finally { try { Directory.Delete(work, true); } catch { } }
    }
}
