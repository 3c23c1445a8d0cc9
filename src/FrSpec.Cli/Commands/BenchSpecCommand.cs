using System.CommandLine;
using System.Globalization;
using FrSpec.Benchmarks;
using FrSpec.Cli.Support;
using FrSpec.Generation;
using FrSpec.Sessions;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `bench spec`: runs vanilla and every drafter given (EAGLE-2/3, a draft model, Medusa, prompt lookup), each also with
/// FR-Spec once per frequency list, over a question set; writes Spec-Bench answer files and OUT/report.md with speed,
/// acceptance, output equivalence, quality and charts.
/// </summary>
public sealed class BenchSpecCommand : ICliVerb
{
    public string Parent => "bench";

    /// <summary>Parsed options of one invocation.</summary>
    internal sealed record Args
    {
        public string? Model { get; init; }
        public string? Eagle { get; init; }
        public string[] Fr { get; init; } = Array.Empty<string>();
        /// <summary>Question set; null = spec-bench for a run, the run's own set for --report-only.</summary>
        public string? Data { get; init; }
        public required string Out { get; init; }
        public int? Limit { get; init; }
        public string[] Categories { get; init; } = Array.Empty<string>();
        public int? MaxTokens { get; init; }
        public float Temperature { get; init; }
        public int TopK { get; init; }
        public float TopP { get; init; } = 1f;
        public ulong Seed { get; init; }
        public int Warmup { get; init; } = 16;
        public bool ReportOnly { get; init; }
        public bool NoExec { get; init; }
        public bool Force { get; init; }
        public double ExecTimeout { get; init; } = 10;
        /// <summary>A fixed tree for every tree drafter, or null: the automatic tree (EAGLE-2/3, draft models; a draft model's chain of automatic length).</summary>
        public Speculative.TreeOptions? Tree { get; init; }
        /// <summary>Drafters to run (eagle2, eagle3, draft, medusa, lookup); empty = every drafter whose input is given.</summary>
        public string[] Methods { get; init; } = Array.Empty<string>();
        /// <summary>The other drafters' inputs (draft model, Medusa, limits); <see cref="Eagle"/> and <see cref="Tree"/> override theirs.</summary>
        public DrafterInputs Drafters { get; init; } = new();
        /// <summary>Adds "fr-auto": the automatic tree choosing V' among the --fr lists and the full head.</summary>
        public bool FrAuto { get; init; }
        /// <summary>Adds, for EAGLE-2 and each of its FR-Spec variants, one fixed-tree method per grid point (next to its automatic tree).</summary>
        public bool Grid { get; init; }
        public int[] GridDepth { get; init; } = [2, 3, 4, 5];
        public int[] GridTopK { get; init; } = [4, 8];
        public int[] GridTokens { get; init; } = [8, 16, 32];
        /// <summary>Automatic trees start from the generic prior: acceptance learned before (earlier runs) is neither read nor left for later ones.</summary>
        public bool ColdStart { get; init; }

        public DrafterInputs Inputs => Drafters with
        {
            Eagle = Eagle ?? Drafters.Eagle, Tree = Tree,
            Auto = ColdStart ? Drafters.Auto with { WarmStart = false } : Drafters.Auto,
        };
    }

    public Command Create()
    {
        var model = new Option<string>("--model") { Description = "Target model directory (config.json, safetensors, tokenizer.json, chat template)" };
        var methodsOption = new Option<string[]>("--method") { Description = "Drafters to run besides vanilla: eagle2, eagle3, draft, medusa, lookup (default: every one whose input flag is given)", AllowMultipleArgumentsPerToken = true };
        var fr = new Option<string[]>("--fr") { Description = "FR-Spec frequency list(s) (freq_N.pt); one FR-Spec variant of every drafter with an LM head per file", AllowMultipleArgumentsPerToken = true };
        var drafters = new DrafterCliOptions();
        var data = new Option<string>("--data") { Description = "Question file (jsonl) or a built-in set: spec-bench (default), humaneval, gsm8k, alpaca" };
        var output = new Option<string>("--out") { Description = "Output folder: one answer file per method, run.json, report.md, charts", Required = true };
        var limit = new Option<int?>("--limit") { Description = "Use at most N questions of each category (a quick run)" };
        var categories = new Option<string[]>("--categories") { Description = "Only these categories (e.g. writing translation)", AllowMultipleArgumentsPerToken = true };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Max new tokens per turn (default 1024 for Spec-Bench/Alpaca, 512 for HumanEval/GSM8K)" };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature; 0 = greedy (outputs must then equal vanilla's)", DefaultValueFactory = _ => 0f };
        var topK = new Option<int>("--top-k") { Description = "Top-k filter when sampling (0 = off)", DefaultValueFactory = _ => 0 };
        var topP = new Option<float>("--top-p") { Description = "Top-p filter when sampling (1 = off)", DefaultValueFactory = _ => 1f };
        var seed = new Option<ulong>("--seed") { Description = "Sampling seed (each question and turn derives its own from it, the same for every method)", DefaultValueFactory = _ => 0UL };
        var warmup = new Option<int>("--warmup") { Description = "Tokens generated once per method before measuring (0 = no warm-up)", DefaultValueFactory = _ => 16 };
        var reportOnly = new Option<bool>("--report-only") { Description = "Do not generate: rebuild report.md and charts from the answers already in --out" };
        var noExec = new Option<bool>("--no-exec") { Description = "Do not execute HumanEval code (pass@1 is then not computed)" };
        var force = new Option<bool>("--force") { Description = "Write into --out even when it holds files that are not a bench spec run" };
        var execTimeout = new Option<double>("--exec-timeout") { Description = "Seconds allowed per HumanEval program", DefaultValueFactory = _ => 10.0 };
        var frAuto = new Option<bool>("--fr-auto") { Description = "Add fr-auto: EAGLE-2's automatic tree also chooses V' among the --fr lists and the full head" };
        var grid = new Option<bool>("--grid") { Description = "Also run EAGLE-2 and its FR-Spec variants with each fixed tree of the grid (--grid-depth × --grid-topk × --grid-tokens), to compare the automatic tree with the best one" };
        var gridDepth = new Option<int[]>("--grid-depth") { Description = "Grid depths", DefaultValueFactory = _ => [2, 3, 4, 5], AllowMultipleArgumentsPerToken = true };
        var gridTopK = new Option<int[]>("--grid-topk") { Description = "Grid top-k values", DefaultValueFactory = _ => [4, 8], AllowMultipleArgumentsPerToken = true };
        var gridTokens = new Option<int[]>("--grid-tokens") { Description = "Grid tree sizes (root included)", DefaultValueFactory = _ => [8, 16, 32], AllowMultipleArgumentsPerToken = true };

        var cmd = new Command("spec", "Benchmark vanilla against EAGLE-2/3, draft models, Medusa and prompt lookup (each with FR-Spec subsets) on Spec-Bench, HumanEval, GSM8K or Alpaca: Spec-Bench answer files, report.md, charts");
        var coldStart = new Option<bool>("--cold-start") { Description = "Automatic trees start from the generic prior instead of the acceptance learned in earlier runs (~/.cache/frspec/acceptance), and leave nothing there" };
        foreach (var o in new Option[] { model, methodsOption, fr, data, output, limit, categories, maxTokens, temperature, topK, topP, seed, warmup, reportOnly, noExec, execTimeout, frAuto, grid, gridDepth, gridTopK, gridTokens, coldStart, force })
            cmd.Options.Add(o);
        drafters.AddTo(cmd);
        cmd.SetAction(pr => Execute(new Args
        {
            Model = pr.GetValue(model),
            Methods = pr.GetValue(methodsOption) ?? Array.Empty<string>(),
            Drafters = pr.GetValue(reportOnly) ? new DrafterInputs() : drafters.Read(pr),
            Fr = pr.GetValue(fr) ?? Array.Empty<string>(),
            Data = pr.GetValue(data),
            Out = pr.GetValue(output)!,
            Limit = pr.GetValue(limit),
            Categories = pr.GetValue(categories) ?? Array.Empty<string>(),
            MaxTokens = pr.GetValue(maxTokens),
            Temperature = pr.GetValue(temperature),
            TopK = pr.GetValue(topK),
            TopP = pr.GetValue(topP),
            Seed = pr.GetValue(seed),
            Warmup = pr.GetValue(warmup),
            ReportOnly = pr.GetValue(reportOnly),
            NoExec = pr.GetValue(noExec),
            Force = pr.GetValue(force),
            ExecTimeout = pr.GetValue(execTimeout),
            Tree = drafters.Tree.Resolve(pr),
            FrAuto = pr.GetValue(frAuto),
            Grid = pr.GetValue(grid),
            GridDepth = pr.GetValue(gridDepth) ?? [],
            GridTopK = pr.GetValue(gridTopK) ?? [],
            GridTokens = pr.GetValue(gridTokens) ?? [],
            ColdStart = pr.GetValue(coldStart),
        }, Console.Out));
        return cmd;
    }

    internal static int Execute(Args a, TextWriter console)
    {
        var dataPath = a.Data is not null ? BenchmarkDataLocator.Resolve(a.Data)
            : a.ReportOnly ? RunDataFile(a.Out)
            : BenchmarkDataLocator.Resolve("spec-bench");
        var questions = QuestionSet.Load(dataPath).Select(a.Categories, a.Limit);
        if (questions.Questions.Count == 0) throw new FrSpecException($"{dataPath}: no questions selected");
        var scoring = new ScoringOptions
        {
            ExecuteHumanEval = !a.NoExec,
            HumanEvalTimeout = TimeSpan.FromSeconds(a.ExecTimeout > 0 ? a.ExecTimeout : throw new FrSpecException("--exec-timeout must be positive")),
        };

        if (a.ReportOnly)
        {
            var only = BenchmarkReport.Write(a.Out, questions, scoring);
            PrintSummary(only, a.Out, console);
            return 0;
        }

        if (string.IsNullOrEmpty(a.Model)) throw new FrSpecException("--model is required (or pass --report-only)");
        // A run folder resumes (its run.json must match these settings); any other folder holding files is not written into.
        if (BenchmarkSettings.TryLoad(a.Out) is null) OutputFolder.RefuseNonEmpty(a.Out, a.Force, "--out");
        if (!Directory.Exists(a.Model) && !Formats.Gguf.GgufFile.IsGgufPath(a.Model)) throw new FrSpecException($"--model {a.Model}: no such directory or .gguf file");
        if (a.Eagle is not null && !Directory.Exists(a.Eagle)) throw new FrSpecException($"--eagle {a.Eagle}: no such directory");
        var inputs = a.Inputs;
        var kinds = a.Methods.Length == 0 ? inputs.Available()
            : a.Methods.Select(m => MethodSpec.Drafters.TryGetValue(m, out var k) ? k
                : m.Equals("vanilla", StringComparison.OrdinalIgnoreCase) ? MethodKind.Vanilla
                : throw new FrSpecException($"--method {m}: expected {string.Join(", ", MethodSpec.Drafters.Keys)}")).Where(k => k != MethodKind.Vanilla).Distinct().ToList();
        if (a.Fr.Length > 0 && !kinds.Any(MethodSpec.HasLmHead))
            throw new FrSpecException("--fr needs a drafter with an LM head: give --eagle, --draft-model or --medusa (FR-Spec cuts the draft's LM head)");
        foreach (var f in a.Fr)
            if (!File.Exists(f)) throw new FrSpecException($"--fr {f}: no such file");
        if (a.MaxTokens is <= 0) throw new FrSpecException($"--max-tokens must be positive, got {a.MaxTokens}");
        if (a.Temperature < 0 || float.IsNaN(a.Temperature)) throw new FrSpecException($"--temperature must be 0 or more, got {a.Temperature}");
        if (a.TopK < 0) throw new FrSpecException($"--top-k must be 0 or more, got {a.TopK}");
        if (!(a.TopP > 0 && a.TopP <= 1)) throw new FrSpecException($"--top-p must be in (0, 1], got {a.TopP}");
        if (a.Warmup < 0) throw new FrSpecException($"--warmup must be 0 or more, got {a.Warmup}");

        if (a.FrAuto && a.Fr.Length == 0) throw new FrSpecException("--fr-auto chooses among the --fr lists: give at least one");
        if ((a.FrAuto || a.Grid) && a.Tree != null) throw new FrSpecException("--fr-auto and --grid compare against the automatic tree: leave out --tree-depth/--tree-topk/--tree-tokens");
        var specs = new List<MethodSpec> { MethodSpec.Vanilla };
        var speculative = new List<MethodSpec>();
        foreach (var kind in kinds)
        {
            speculative.Add(new MethodSpec(kind));
            if (MethodSpec.HasLmHead(kind)) speculative.AddRange(a.Fr.Select(f => MethodSpec.WithFr(kind, f)));
        }
        specs.AddRange(speculative);
        var tunable = speculative.Where(s => s.Kind is MethodKind.Eagle2 or MethodKind.FrSpec).ToList();
        if (a.FrAuto)
        {
            if (tunable.Count == 0) throw new FrSpecException("--fr-auto needs an EAGLE-2 head (--eagle)");
            specs.Add(MethodSpec.FrAuto(a.Fr));
        }
        if (a.Grid)
        {
            if (tunable.Count == 0) throw new FrSpecException("--grid needs an EAGLE-2 head (--eagle)");
            foreach (var s in tunable)
                foreach (var tree in GridTrees(a))
                    specs.Add(s.WithTree(tree));
        }

        // One loaded model shared by all methods (its EAGLE head and FR-Spec heads loaded once), disposed with the run.
        using var model = LanguageModel.Load(a.Model, CliEngineOptions.FromEnvironment());
        var vocabulary = model.Vocabulary;
        var template = vocabulary.ChatTemplate ?? throw new FrSpecException($"{a.Model}: bench spec needs a supported chat template (tokenizer_config.json's chat_template, or a GGUF's tokenizer.chat_template)");
        var tokenizer = vocabulary.Tokenizer ?? throw new FrSpecException($"{a.Model}: bench spec needs a tokenizer");
        var methods = specs.Select(s => new BenchmarkMethod(s, model.CreateSession(s.ToDecodingMethod(model, inputs)))).ToList();
        var settings = new BenchmarkSettings
        {
            DataSet = questions.Name,
            Kind = questions.Kind,
            DataFile = dataPath,
            Model = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a.Model))),
            ModelNote = Synthesis.ModelExpander.TryReadExpansion(a.Model) is { } x
                ? $"a cost model: `{x.Source}` expanded to the {x.Shape} shape (docs/expansion.md); every matrix product has the real model's size, the text is `{x.Source}`'s"
                : null,
            MaxNewTokens = a.MaxTokens ?? questions.DefaultMaxNewTokens,
            Sampling = new SamplingOptions(a.Temperature, a.TopK, a.TopP, a.Seed),
        };
        var runner = new BenchmarkRunner(tokenizer, messages => template.Render(messages, addGenerationPrompt: true), vocabulary.StopTokens)
        {
            WarmupTokens = a.Warmup,
        };
        console.WriteLine($"bench spec: {questions.Questions.Count} questions of {questions.Name} × {methods.Count} methods ({string.Join(", ", methods.Select(m => m.Name))}), max {settings.MaxNewTokens} new tokens, T={a.Temperature.ToString(CultureInfo.InvariantCulture)} -> {a.Out}");

        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cts.IsCancellationRequested) return; // a second Ctrl+C ends the process
            e.Cancel = true;
            cts.Cancel();
            Console.Error.WriteLine("stopping after the current answer (Ctrl+C again to abort; rerun the same command to resume)");
        };
        Console.CancelKeyPress += onCancel;
        BenchmarkRunSummary summary;
        try
        {
            summary = SpectreBenchmarkProgress.Run(p => runner.Run(questions, methods, settings, a.Out, p, cts.Token));
        }
        finally { Console.CancelKeyPress -= onCancel; }
        console.WriteLine($"{summary.Generated} answers generated, {summary.Skipped} already present{(summary.Cancelled ? "; stopped early: rerun to resume" : "")}");

        var results = BenchmarkReport.Write(a.Out, questions, scoring);
        PrintSummary(results, a.Out, console);
        return 0;
    }

    /// <summary>The fixed trees of the grid: every depth × top-k × size, skipping sizes a tree of that depth and top-k cannot fill.</summary>
    internal static IEnumerable<Speculative.TreeOptions> GridTrees(Args a)
    {
        if (a.GridDepth.Length == 0 || a.GridTopK.Length == 0 || a.GridTokens.Length == 0) throw new FrSpecException("--grid needs at least one value each of --grid-depth, --grid-topk and --grid-tokens");
        foreach (int d in a.GridDepth.Distinct())
            foreach (int k in a.GridTopK.Distinct())
                foreach (int t in a.GridTokens.Distinct())
                {
                    var tree = new Speculative.TreeOptions { Depth = d, TopK = k, TotalTokens = t };
                    tree.Validate();
                    if (t - 1 <= k + d * k * k) yield return tree;
                }
    }

    /// <summary>The question file of the run in OUT: the path it recorded, else the built-in set of that name.</summary>
    static string RunDataFile(string outDir)
    {
        var settings = BenchmarkSettings.TryLoad(outDir)
            ?? throw new FrSpecException($"{Path.Combine(outDir, BenchmarkSettings.FileName)} not found: is {outDir} the --out folder of a run?");
        if (settings.DataFile is not null && File.Exists(settings.DataFile)) return settings.DataFile;
        var builtIn = BenchmarkDataLocator.BuiltIn.FirstOrDefault(kv => Path.GetFileNameWithoutExtension(kv.Value) == settings.DataSet).Key;
        return builtIn is not null ? BenchmarkDataLocator.Resolve(builtIn)
            : throw new FrSpecException($"cannot find the question file of {outDir} ({settings.DataFile ?? settings.DataSet}): pass --data");
    }

    static void PrintSummary(BenchmarkResults r, string outDir, TextWriter console)
    {
        string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
        foreach (var m in r.Methods)
        {
            var o = r.Stats[m.Name][BenchmarkResults.Overall];
            var line = $"  {m.Name,-12} {F(o.TokensPerSecond),8} tok/s  accept {F(o.MeanAcceptLength)}";
            if (r.Speedup(m.Name, r.VanillaMethod, BenchmarkResults.Overall) is double s && m.Name != r.VanillaMethod) line += $"  {F(s)}x vs vanilla";
            if (r.Speedup(m.Name, r.Eagle2Method, BenchmarkResults.Overall) is double e && m.Name != r.Eagle2Method && m.Name != r.VanillaMethod) line += $"  {F(e)}x vs EAGLE-2";
            if (r.Differences?.GetValueOrDefault(m.Name) is { Count: > 0 } d) line += $"  {d.Count} outputs differ from vanilla";
            console.WriteLine(line);
        }
        if (r.Differences is not null && r.Differences.Values.All(d => d.Count == 0) && r.Differences.Count > 0)
            console.WriteLine("  all outputs identical to vanilla");
        if (r.HumanEvalNote is not null) console.WriteLine($"  HumanEval: {r.HumanEvalNote}");
        console.WriteLine($"report: {Path.Combine(outDir, BenchmarkReport.FileName)}");
    }
}
