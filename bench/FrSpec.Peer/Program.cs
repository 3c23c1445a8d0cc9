using System.Globalization;
using FrSpec;
using FrSpec.Peer;
using LLama.Native;

// Runs one model through FrSpec and through llama.cpp (LLamaSharp) in the same process: decode and batch-N tokens/s
// in interleaved rounds, and the largest logit difference over a prompt as an independent numerical reference.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
try
{
    var o = PeerOptions.Parse(args);
    // llama.cpp only gets huge pages for malloc'd weights when glibc is told at process start: restart with the tunable.
    if (o.Memory == "thp" && OperatingSystem.IsLinux() && !(Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "").Contains("glibc.malloc.hugetlb=1"))
    {
        var psi = new System.Diagnostics.ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        var self = Environment.GetCommandLineArgs();
        if (!Path.GetFileNameWithoutExtension(Environment.ProcessPath!).Equals("FrSpec.Peer", StringComparison.OrdinalIgnoreCase)) psi.ArgumentList.Add(self[0]);
        foreach (var a in args) psi.ArgumentList.Add(a);
        string prev = Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "";
        psi.Environment["GLIBC_TUNABLES"] = prev.Length > 0 ? prev + ":glibc.malloc.hugetlb=1" : "glibc.malloc.hugetlb=1";
        using var child = System.Diagnostics.Process.Start(psi)!;
        child.WaitForExit();
        return child.ExitCode;
    }
    return Run(o);
}
catch (FrSpecException e)
{
    Console.Error.WriteLine($"frspec bench peer: {e.Message}");
    return 2;
}

static int Run(PeerOptions o)
{
    void Log(string s) => Console.WriteLine(s);
    if (!Directory.Exists(o.Model)) throw new FrSpecException($"{o.Model}: model directory not found");
    if (!o.Verbose) NativeLibraryConfig.All.WithLogCallback((level, message) => { if (level == LLamaLogLevel.Error) Console.Error.Write(message); });

    Log($"date             {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
    Log($"model            {Path.GetFullPath(o.Model)}");
    string gguf = GgufCache.Ensure(o.Model, o.Tokenizer, o.Cache, Log);
    int context = Math.Max(o.PromptTokens + o.DecodeTokens, o.PromptTokens + o.Batches.DefaultIfEmpty(1).Max()) + 8;
    context = Math.Max(context, o.PromptTokens + 8);

    var frspecMemory = o.Memory switch { "mmap" => FrSpec.WeightMemory.Mapped, "thp" => FrSpec.WeightMemory.HugePages, _ => FrSpec.WeightMemory.Default };
    bool llamaMmap = o.Memory != "thp";
    using var frspec = new FrSpecEngine(o.Model, context, frspecMemory, o.Threads);
    using var llama = new LlamaCppEngine(gguf, (context + 255) / 256 * 256, o.Threads, mmap: llamaMmap);
    if (frspec.VocabSize != llama.VocabSize)
        throw new FrSpecException($"vocabulary sizes differ: FrSpec {frspec.VocabSize}, llama.cpp {llama.VocabSize}");
    var cfg = frspec.Model.Config;
    Log($"weights          {frspec.Model.Head.Weight.Type} (embedding/LM head), {frspec.Model.WeightBytesPerToken() / 1e9:F3} GB read per token");
    Log($"shape            {cfg.ModelType}, {cfg.NumLayers} layers, hidden {cfg.HiddenSize}, heads {cfg.NumHeads}/{cfg.NumKvHeads}, vocab {cfg.VocabSize}");
    Log($"weight memory    FrSpec: {(frspec.Model.UsesHugePages ? "copied into 2 MiB huge pages" : "memory-mapped")}; llama.cpp: {(llamaMmap ? "memory-mapped (its default)" : "read into malloc'd memory with glibc.malloc.hugetlb=1 (huge pages)")}");
    Log($"threads          {o.Threads} (FrSpec worker pool: {frspec.Model.Compute.Pool.Threads}); llama.cpp via LLamaSharp 0.30.0");

    if (o.Check)
    {
        var prompt = PeerBenchmark.Tokens(o.PromptTokens, cfg.VocabSize, 7);
        if (cfg.BosTokenId is int bos && bos < cfg.VocabSize) prompt[0] = bos;
        Log("");
        // Tokenizer metadata: llama.cpp must split text as the tokenizer.json does; the prompt then uses real text.
        string tokPath = o.Tokenizer ?? Path.Combine(o.Model, "tokenizer.json");
        var hf = FrSpec.Text.TokenizerLoader.Load(tokPath);
        var fromHf = hf.Encode(TokenizerSample.Text);
        var fromLlama = llama.Tokenize(TokenizerSample.Text);
        int same = fromHf.Zip(fromLlama).TakeWhile(p => p.First == p.Second).Count();
        Log(fromHf.SequenceEqual(fromLlama)
            ? $"tokenizer        llama.cpp and tokenizer.json agree on all {fromHf.Length} ids of a {TokenizerSample.Text.Length}-character sample"
            : $"tokenizer        DIFFERENT: {fromHf.Length} ids (tokenizer.json) vs {fromLlama.Length} (llama.cpp), first difference at id {same}");
        for (int i = 1; i < prompt.Length && i - 1 < fromHf.Length; i++) prompt[i] = fromHf[i - 1];
        Log($"numerics         {prompt.Length} prompt positions x {cfg.VocabSize} logits, FrSpec vs llama.cpp");
        // F32 KV cache: the reference proper; F16 KV cache: llama.cpp as benchmarked (its default).
        using (var reference = new LlamaCppEngine(gguf, (context + 255) / 256 * 256, o.Threads, f32KvCache: true))
            Report(LogitCheckResult.Run(frspec, reference, prompt), reference.KvCacheType);
        Report(LogitCheckResult.Run(frspec, llama, prompt), llama.KvCacheType);

        void Report(LogitCheckResult r, string kv)
        {
            Log($"  KV cache {kv}:  max |dlogit| {r.MaxAbsDiff:G4} (position {r.WorstPosition}; largest |logit| {r.MaxAbsLogit:G4}; rms diff {r.RmsDiff:G3}); argmax agrees at {r.ArgmaxAgreements}/{r.Positions}");
        }
    }

    if (o.Bench)
    {
        var bench = new PeerBenchmark(o.DecodeTokens, o.Batches, o.PromptTokens);
        IPeerEngine[] engines = [frspec, llama];
        foreach (var e in engines) bench.Warmup(e);
        int quiet = 0;
        for (int round = 0; round < o.Rounds; round++)
        {
            if (CpuQuietGuard.WaitForQuiet(0.25, TimeSpan.FromSeconds(o.QuietWait))) quiet++;
            // interleaved, order flipped each round: F L | L F | F L ...
            var order = round % 2 == 0 ? engines : engines.Reverse().ToArray();
            foreach (var e in order) bench.Round(e);
            string d = bench.Metrics[0];
            Console.Error.WriteLine($"round {round + 1}/{o.Rounds}: decode FrSpec {bench.Samples[frspec.Name][d][^1]:F1}, llama.cpp {bench.Samples[llama.Name][d][^1]:F1} tokens/s");
        }
        Log("");
        Log($"tokens/s, median of {o.Rounds} interleaved rounds [min-max]; context {o.PromptTokens} tokens; "
            + (o.QuietWait > 0 ? $"{quiet}/{o.Rounds} rounds started on idle CPUs" : "no idle-CPU wait"));
        // Ratio of medians, and of best rounds: on a shared machine the best round is the closest to a quiet one.
        Log($"{"",-24} {"FrSpec",-22} {"llama.cpp",-22} {"ratio (medians)",16} {"ratio (best)",13}");
        foreach (var m in bench.Metrics)
        {
            var f = bench.Samples[frspec.Name][m];
            var l = bench.Samples[llama.Name][m];
            double fm = PeerBenchmark.Median(f), lm = PeerBenchmark.Median(l);
            Log($"{m,-24} {Cell(f),-22} {Cell(l),-22} {fm / lm,15:F2}x {f.Max() / l.Max(),12:F2}x");
        }
    }
    return 0;

    static string Cell(List<double> xs) => $"{PeerBenchmark.Median(xs),7:F1} [{xs.Min():F1}-{xs.Max():F1}]";
}
