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
    // with --json the report lines go to stderr and one JSON object to stdout
    var report = new PeerReport(o.Json ? Console.Error : Console.Out);
    void Log(string s) => report.Log(s);
    bool isGguf = FrSpec.Formats.Gguf.GgufFile.IsGgufPath(o.Model);
    if (!isGguf && !Directory.Exists(o.Model)) throw new FrSpecException($"{o.Model}: model directory or .gguf file not found");
    if (!o.Verbose) NativeLibraryConfig.All.WithLogCallback((level, message) => { if (level == LLamaLogLevel.Error) Console.Error.Write(message); });

    Log($"date             {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
    Log($"model            {Path.GetFullPath(o.Model)}");
    // a GGUF runs in both engines as it is; a model directory reaches llama.cpp through FrSpec's exporter
    string gguf = isGguf ? Path.GetFullPath(o.Model) : GgufCache.Ensure(o.Model, o.Tokenizer, o.Cache, Log);
    report.Set("model", Path.GetFullPath(o.Model));
    report.Set("gguf", gguf);
    int context = Math.Max(o.PromptTokens + o.DecodeTokens, o.PromptTokens + o.Batches.DefaultIfEmpty(1).Max()) + 8;
    context = Math.Max(context, Math.Max(o.PromptTokens, o.CheckTokens) + 8);

    var frspecMemory = o.Memory switch { "mmap" => FrSpec.WeightMemory.Mapped, "thp" => FrSpec.WeightMemory.HugePages, _ => FrSpec.WeightMemory.Default };
    bool llamaMmap = o.Memory != "thp";
    using var frspec = new FrSpecEngine(o.Model, context, frspecMemory, o.Threads);
    using var llama = new LlamaCppEngine(gguf, (context + 255) / 256 * 256, o.Threads, mmap: llamaMmap);
    if (frspec.VocabSize != llama.VocabSize)
        throw new FrSpecException($"vocabulary sizes differ: FrSpec {frspec.VocabSize}, llama.cpp {llama.VocabSize}");
    var cfg = frspec.Model.Config;
    var types = WeightTypes(frspec.Model);
    Log($"weights          {string.Join(", ", types.Select(t => $"{t.Key} x{t.Value}"))} matrices; {frspec.Model.WeightBytesPerToken() / 1e9:F3} GB read per token");
    Log($"shape            {cfg.ModelType}, {cfg.NumLayers} layers, hidden {cfg.HiddenSize}, heads {cfg.NumHeads}/{cfg.NumKvHeads}, vocab {cfg.VocabSize}");
    Log($"weight memory    FrSpec: {(frspec.Model.UsesHugePages ? "copied into 2 MiB huge pages" : "memory-mapped")}; llama.cpp: {(llamaMmap ? "memory-mapped (its default)" : "read into malloc'd memory with glibc.malloc.hugetlb=1 (huge pages)")}");
    Log($"threads          {o.Threads} (FrSpec worker pool: {frspec.Model.Compute.Pool.Threads}; {frspec.Model.Compute.KernelPath}); llama.cpp via LLamaSharp 0.30.0");
    report.Set("weights", types.ToDictionary(t => t.Key, t => (object)t.Value));
    report.Set("bytes_per_token", frspec.Model.WeightBytesPerToken());
    report.Set("shape", new Dictionary<string, object> { ["model_type"] = cfg.ModelType, ["layers"] = cfg.NumLayers, ["hidden"] = cfg.HiddenSize, ["vocab"] = cfg.VocabSize });
    report.Set("threads", o.Threads);
    report.Set("memory", o.Memory);

    if (o.Check)
    {
        Log("");
        // Tokenizer: llama.cpp must split text as FrSpec's tokenizer (tokenizer.json, or the GGUF's metadata) does.
        string tokSource = isGguf ? o.Tokenizer ?? gguf : o.Tokenizer ?? Path.Combine(o.Model, "tokenizer.json");
        var tokenizer = FrSpec.Text.TokenizerLoader.Load(tokSource);
        var ours = tokenizer.Encode(TokenizerSample.Text);
        var fromLlama = llama.Tokenize(TokenizerSample.Text);
        int same = ours.Zip(fromLlama).TakeWhile(p => p.First == p.Second).Count();
        bool agree = ours.SequenceEqual(fromLlama);
        Log(agree
            ? $"tokenizer        llama.cpp and FrSpec ({Path.GetFileName(tokSource)}) agree on all {ours.Length} ids of a {TokenizerSample.Text.Length}-character sample"
            : $"tokenizer        DIFFERENT: {ours.Length} ids (FrSpec) vs {fromLlama.Length} (llama.cpp), first difference at id {same}");
        report.Set("tokenizer", new Dictionary<string, object> { ["agree"] = agree, ["ids"] = ours.Length, ["llama_cpp_ids"] = fromLlama.Length });

        // Numerics over real text: BOS, then the prose sample as the model's tokenizer encodes it
        var prose = tokenizer.Encode(TokenizerSample.Prose);
        var prompt = new int[Math.Min(o.CheckTokens, prose.Length + 1)];
        prompt[0] = cfg.BosTokenId is int bos && bos < cfg.VocabSize ? bos : prose[0];
        for (int i = 1; i < prompt.Length; i++) prompt[i] = prose[i - 1];
        Log($"numerics         {prompt.Length} positions of English prose x {cfg.VocabSize} logits, FrSpec vs llama.cpp (top-1 = argmax agrees)");
        var rows = new List<object>();
        using (var reference = new LlamaCppEngine(gguf, (context + 255) / 256 * 256, o.Threads, f32KvCache: true))
        {
            // F32 KV cache: the reference proper; F16: llama.cpp as benchmarked (its default)
            Report(LogitCheckResult.Run(frspec, reference, prompt), frspec.Precision, reference.KvCacheType);
            Report(LogitCheckResult.Run(frspec, llama, prompt), frspec.Precision, llama.KvCacheType);
            using var exact = new FrSpecEngine(o.Model, context, FrSpec.WeightMemory.Mapped, o.Threads, FrSpec.Precision.Exact);
            Report(LogitCheckResult.Run(exact, reference, prompt), exact.Precision, reference.KvCacheType);
        }
        report.Set("numerics", rows);

        void Report(LogitCheckResult r, FrSpec.Precision precision, string kv)
        {
            string p = precision.ToString().ToLowerInvariant();
            Log($"  FrSpec {p,-5} vs llama.cpp KV {kv}:  max |dlogit| {r.MaxAbsDiff:G4} (position {r.WorstPosition}; largest |logit| {r.MaxAbsLogit:G4}; rms diff {r.RmsDiff:G3}); top-1 agrees at {r.ArgmaxAgreements}/{r.Positions}");
            rows.Add(new Dictionary<string, object>
            {
                ["frspec_precision"] = p, ["llama_cpp_kv_cache"] = kv, ["positions"] = r.Positions, ["max_abs_diff"] = r.MaxAbsDiff,
                ["worst_position"] = r.WorstPosition, ["rms_diff"] = r.RmsDiff, ["max_abs_logit"] = r.MaxAbsLogit, ["top1_agree"] = r.ArgmaxAgreements,
            });
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
        var metrics = new List<object>();
        foreach (var m in bench.Metrics)
        {
            var f = bench.Samples[frspec.Name][m];
            var l = bench.Samples[llama.Name][m];
            double fm = PeerBenchmark.Median(f), lm = PeerBenchmark.Median(l);
            Log($"{m,-24} {Cell(f),-22} {Cell(l),-22} {fm / lm,15:F2}x {f.Max() / l.Max(),12:F2}x");
            metrics.Add(new Dictionary<string, object>
            {
                ["name"] = m, ["frspec"] = Stats(f), ["llama_cpp"] = Stats(l), ["ratio_median"] = fm / lm, ["ratio_best"] = f.Max() / l.Max(),
            });
        }
        report.Set("speed", new Dictionary<string, object>
        {
            ["unit"] = "tokens/s", ["rounds"] = o.Rounds, ["quiet_rounds"] = quiet, ["context_tokens"] = o.PromptTokens, ["metrics"] = metrics,
        });
    }
    if (o.Json) report.WriteJson(Console.Out);
    return 0;

    static string Cell(List<double> xs) => $"{PeerBenchmark.Median(xs),7:F1} [{xs.Min():F1}-{xs.Max():F1}]";
    static Dictionary<string, object> Stats(List<double> xs) => new() { ["median"] = PeerBenchmark.Median(xs), ["min"] = xs.Min(), ["max"] = xs.Max() };
}

/// <summary>Weight matrices of the model by type (a quantized file mixes several).</summary>
static SortedDictionary<string, int> WeightTypes(FrSpec.Model.Transformer m)
{
    var count = new SortedDictionary<string, int>(StringComparer.Ordinal);
    void Add(FrSpec.Numerics.WeightMatrix w) => count[w.Type.ToString()] = count.GetValueOrDefault(w.Type.ToString()) + 1;
    Add(m.Embedding);
    if (m.Head.Weight != m.Embedding) Add(m.Head.Weight);
    foreach (var l in m.Layers) foreach (var w in new[] { l.QProj, l.KProj, l.VProj, l.OProj, l.GateProj, l.UpProj, l.DownProj }) Add(w);
    return count;
}
