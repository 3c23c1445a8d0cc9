using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FrSpec.Benchmarks;
using FrSpec.Cli.Support;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Synthesis;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec demo`: the main job. It expands the trained demo pair in demo/ (target + EAGLE head) to a real model's shape
/// on first use (a cost model: real-size matrices, the small pair's tokens; cached), then runs vanilla, EAGLE-2 and
/// FR-Spec with the automatic tree on the same prompts, greedy, in interleaved order, and prints one answer, tokens/s,
/// mean accepted length, speed-ups and whether every method reproduced vanilla exactly. `--method` compares other
/// drafters instead of or besides EAGLE-2: prompt lookup (no weights), a draft model, Medusa or EAGLE-3 heads (their
/// weights given by options; heads must fit the target that runs, so the expanded one unless `--small`). `--small` runs
/// the small pair itself (every FR-Spec V' separately); `--json` prints one object instead.
/// </summary>
public sealed class DemoCommand : ICliVerb
{
    public static readonly string[] DefaultPrompts =
    [
        "Write a short story about a lighthouse keeper who finds a message in a bottle.",
        "Explain how a steam engine works.",
        "def fibonacci(n):",
        "The history of the printing press",
    ];

    /// <summary>Parsed options of one invocation.</summary>
    internal sealed record Args
    {
        public string? Model { get; init; }
        public string? Eagle { get; init; }
        public bool Small { get; init; }
        public string Shape { get; init; } = "qwen2.5-0.5b";
        public int[] FrSizes { get; init; } = [.. ModelVocabulary.StandardDraftSizes];
        public int MaxTokens { get; init; } = 96;
        public string[] Prompts { get; init; } = DefaultPrompts;
        public int Rounds { get; init; } = 1;
        public bool Json { get; init; }
        public TreeOptions? Tree { get; init; }
        /// <summary>Drafters compared with vanilla (<see cref="DemoMethods"/>): eagle2 (EAGLE-2 and FR-Spec), lookup, draft, medusa, eagle3.</summary>
        public string[] Methods { get; init; } = ["eagle2"];
        /// <summary>--draft-model, --medusa, --eagle3: the weights of those drafters.</summary>
        public string? DraftModel { get; init; }
        public string? Medusa { get; init; }
        public string? Eagle3 { get; init; }
        /// <summary>Where expansions are cached (default ~/.cache/frspec/demo).</summary>
        public string? CacheRoot { get; init; }
        /// <summary>A shape that is not one of <see cref="ExpansionShape.Known"/> (tests expand tiny pairs to tiny shapes).</summary>
        public ExpansionShape? CustomShape { get; init; }
    }

    public Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Small target model directory (default: the bundled demo/target)" };
        var eagle = new Option<string?>("--eagle") { Description = "Its EAGLE head directory (default: the bundled demo/eagle)" };
        var small = new Option<bool>("--small") { Description = "Run the small pair itself, not its real-shape expansion (its target is as cheap as its draft, so speculation cannot pay)" };
        var shape = new Option<string>("--shape") { Description = $"Real shape the pair is expanded to: {string.Join(", ", ExpansionShape.Names)}", DefaultValueFactory = _ => "qwen2.5-0.5b" };
        var sizes = new Option<int[]>("--fr-sizes") { Description = "FR-Spec subset sizes V' the automatic tree chooses among (with --small: one FR-Spec method each)", DefaultValueFactory = _ => [.. ModelVocabulary.StandardDraftSizes], AllowMultipleArgumentsPerToken = true };
        var maxTokens = new Option<int>("--max-tokens") { Description = "New tokens per prompt", DefaultValueFactory = _ => 96 };
        var prompt = new Option<string[]>("--prompt") { Description = "Prompt(s) to use instead of the built-in ones", AllowMultipleArgumentsPerToken = true };
        var rounds = new Option<int>("--rounds") { Description = "Passes over the prompts", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: {model, methods: [{name, tokens_per_second, mean_accept_length, speedup_vs_vanilla, identical_to_vanilla, tree}]}" };
        var methods = new Option<string[]>("--method") { Description = $"Drafters compared with vanilla: {string.Join(", ", DemoMethods)} (default eagle2: EAGLE-2 and FR-Spec); several allowed; lookup needs no weights, draft/medusa/eagle3 need --draft-model/--medusa/--eagle3", DefaultValueFactory = _ => ["eagle2"], AllowMultipleArgumentsPerToken = true };
        var draftModel = new Option<string?>("--draft-model") { Description = "Draft model directory or .gguf sharing the target's tokenizer (for --method draft)" };
        var medusa = new Option<string?>("--medusa") { Description = "Medusa heads for the target that runs (for --method medusa; the expanded target unless --small)" };
        var eagle3 = new Option<string?>("--eagle3") { Description = "EAGLE-3 head for the target that runs (for --method eagle3; the expanded target unless --small)" };
        var tree = new CliTreeOptions();
        var cmd = new Command("demo", "Run vanilla, EAGLE-2 and FR-Spec (or other drafters, --method) on the bundled demo pair expanded to a real model's cost, and compare speed and output")
        {
            model, eagle, small, shape, sizes, maxTokens, prompt, rounds, json, methods, draftModel, medusa, eagle3,
        };
        foreach (var o in tree.All) cmd.Options.Add(o);
        cmd.SetAction(pr => Execute(new Args
        {
            Model = pr.GetValue(model), Eagle = pr.GetValue(eagle), Small = pr.GetValue(small), Shape = pr.GetValue(shape)!,
            FrSizes = pr.GetValue(sizes) ?? [], MaxTokens = pr.GetValue(maxTokens),
            Prompts = pr.GetValue(prompt) is { Length: > 0 } p ? p : DefaultPrompts,
            Rounds = pr.GetValue(rounds), Json = pr.GetValue(json), Tree = tree.Resolve(pr),
            Methods = pr.GetValue(methods) is { Length: > 0 } m ? m : ["eagle2"],
            DraftModel = pr.GetValue(draftModel), Medusa = pr.GetValue(medusa), Eagle3 = pr.GetValue(eagle3),
        }, Console.Out, Console.Error));
        return cmd;
    }

    internal static int Execute(Args a, TextWriter stdout, TextWriter stderr)
    {
        if (a.MaxTokens <= 0) throw new FrSpecException($"--max-tokens must be positive, got {a.MaxTokens}");
        if (a.Rounds <= 0) throw new FrSpecException($"--rounds must be positive, got {a.Rounds}");
        if (a.FrSizes.Any(v => v <= 0)) throw new FrSpecException("--fr-sizes must be positive");
        var kinds = Kinds(a);
        string root = BenchmarkDataLocator.FindContentRoot() ?? Directory.GetCurrentDirectory();
        string smallTarget = a.Model ?? Path.Combine(root, "demo", "target");
        string smallEagle = a.Eagle ?? Path.Combine(root, "demo", "eagle");
        bool gguf = Formats.Gguf.GgufFile.IsGgufPath(smallTarget);
        if (gguf ? !File.Exists(smallTarget) : !Directory.Exists(smallTarget))
            throw new FrSpecException($"{smallTarget}: demo model not found (train it with `frspec train lm`, see docs/training.md, or pass --model)");
        if (!Directory.Exists(smallEagle)) throw new FrSpecException($"{smallEagle}: demo EAGLE head not found (see docs/training.md, or pass --eagle)");

        // a .gguf target runs as it is: expansion reads safetensors directories
        if (gguf && !a.Small && !a.Json) stderr.WriteLine($"{smallTarget}: a .gguf target runs as it is (no expansion to a real shape)");
        ExpansionShape? shape = a.Small || gguf ? null : a.CustomShape ?? ExpansionShape.Find(a.Shape);
        var (targetDir, eagleDir) = shape == null ? (smallTarget, smallEagle)
            : ExpandedDemoPair.Ensure(smallTarget, smallEagle, shape, a.CacheRoot ?? CliCache.Folder("demo"), stderr);

        using var model = LanguageModel.Load(targetDir, CliEngineOptions.FromEnvironment());
        var config = model.Target.Config;
        var vocabulary = model.Vocabulary;
        // FR-Spec subsets come from the small pair's folders (freq_N.pt beside it) or the bundled counts of its tokenizer
        var subsets = a.FrSizes.Distinct().Where(v => v < config.VocabSize).Select(v => vocabulary.FindDraftVocabulary(v, smallEagle, smallTarget)).ToList();
        var inputs = new DrafterInputs { Eagle = eagleDir, Tree = a.Tree, Auto = CliTreeOptions.Auto, DraftModel = a.DraftModel, Medusa = a.Medusa };
        var methods = new List<DecodingMethod> { DecodingMethod.Vanilla };
        foreach (var kind in kinds)
        {
            var drafter = kind == MethodKind.Eagle3 ? inputs with { Eagle = a.Eagle3 } : inputs;
            methods.Add(drafter.Method(kind, null));
            if (!MethodSpec.HasLmHead(kind)) continue;
            // FR-Spec: with the automatic tree one method choosing V' itself (Medusa's static tree cannot), else one per V'
            if (a.Small || a.Tree != null || kind == MethodKind.Medusa) methods.AddRange(subsets.Select(v => drafter.Method(kind, v)));
            else if (subsets.Count > 0) methods.Add(drafter.AutoVocabularyMethod(kind, subsets.Cast<DraftVocabulary?>().ToList()));
        }
        var sessions = methods.Select(m => model.CreateSession(m)).ToList();
        var encoded = a.Prompts.Select(p => vocabulary.Encode(p)).ToArray();
        var options = new GenerationOptions { MaxNewTokens = a.MaxTokens };

        // warm-up (JIT, page faults; the automatic tree measures its costs on first use and caches them)
        if (!a.Json) stderr.WriteLine("warming up (the first run on a machine also measures what speculation costs there, a few seconds per method)");
        foreach (var s in sessions) s.Generate(encoded[0], options with { MaxNewTokens = Math.Min(8, a.MaxTokens) });

        var runs = sessions.Select(s => new MethodRun(s.Name)).ToList();
        var vanillaIds = new int[encoded.Length][];
        string? sample = null;
        for (int r = 0; r < a.Rounds; r++)
            for (int q = 0; q < encoded.Length; q++)
                for (int m = 0; m < sessions.Count; m++) // interleaved: noise hits every method alike
                {
                    var res = sessions[m].Generate(encoded[q], options);
                    runs[m].Add(res);
                    if (m == 0) vanillaIds[q] = res.Ids;
                    else if (!res.Ids.AsSpan().SequenceEqual(vanillaIds[q])) runs[m].Mismatches.Add(q + 1);
                    if (r == 0 && q == 0 && m == 0) sample = vocabulary.Decode(res.Ids);
                }

        double baseline = runs[0].TokensPerSecond;
        var modelInfo = new Dictionary<string, object?>
        {
            ["target"] = targetDir, ["eagle"] = eagleDir, ["draft_model"] = a.DraftModel, ["medusa"] = a.Medusa, ["eagle3"] = a.Eagle3,
            ["shape"] = shape?.Name, ["expanded_from"] = shape == null ? null : new Dictionary<string, string> { ["target"] = smallTarget, ["eagle"] = smallEagle },
            ["cost_model"] = shape != null,
            ["layers"] = config.NumLayers, ["hidden_size"] = config.HiddenSize, ["vocab_size"] = config.VocabSize,
            ["threads"] = model.Target.Compute.Pool.Threads, ["precision"] = model.Options.Precision.ToString().ToLowerInvariant(),
        };
        if (a.Json)
        {
            var o = new Dictionary<string, object?>
            {
                ["model"] = modelInfo,
                ["prompts"] = encoded.Length, ["rounds"] = a.Rounds, ["max_new_tokens"] = a.MaxTokens,
                ["methods"] = runs.Select(run => new Dictionary<string, object?>
                {
                    ["name"] = run.DisplayName, ["tokens_per_second"] = run.TokensPerSecond, ["mean_accept_length"] = run.MeanAcceptLength,
                    ["speedup_vs_vanilla"] = baseline > 0 ? run.TokensPerSecond / baseline : null,
                    ["identical_to_vanilla"] = run.Mismatches.Count == 0,
                    ["tree"] = run.LastTree == null ? null : TreePlanJson.ToObject(run.LastTree),
                }).ToList(),
                ["identical"] = runs.All(run => run.Mismatches.Count == 0),
            };
            stdout.WriteLine(JsonSerializer.Serialize(o));
            return 0;
        }

        stdout.WriteLine(shape == null
            ? $"model {targetDir} ({config.NumLayers} layers, hidden {config.HiddenSize}, vocab {config.VocabSize}), head {eagleDir}"
            : $"demo pair {smallTarget} + {smallEagle} expanded to the {shape.Name} shape ({config.NumLayers} layers, hidden {config.HiddenSize}, vocab {config.VocabSize}): "
              + "a cost model, every matrix the real model's size, the tokens the small pair's (docs/expansion.md)");
        stdout.WriteLine($"tree: {(a.Tree == null ? "automatic (chosen from costs measured on this machine and the acceptance observed; docs/speculative.md)" : a.Tree.ToString())}; greedy; {a.MaxTokens} new tokens per prompt; {model.Target.Compute.Pool.Threads} threads");
        stdout.WriteLine();
        stdout.WriteLine($"> {a.Prompts[0]}");
        stdout.WriteLine(sample);
        stdout.WriteLine();
        stdout.WriteLine($"{"method",-12} {"tokens/s",9} {"accepted/step",14} {"vs vanilla",11}  tree (at the end)");
        foreach (var run in runs)
            stdout.WriteLine(FormattableString.Invariant($"{run.DisplayName,-12} {run.TokensPerSecond,9:F1} {run.MeanAcceptLength,14:F2} {run.TokensPerSecond / baseline,10:F2}x  {run.LastTree?.ToString() ?? "-"}"));
        stdout.WriteLine();
        var mismatched = runs.Where(run => run.Mismatches.Count > 0).ToList();
        stdout.WriteLine(mismatched.Count == 0
            ? $"All {runs.Count - 1} speculative methods produced output identical to vanilla on all {encoded.Length} prompts."
            : $"DIFFERENT from vanilla: {string.Join(", ", mismatched.Select(run => $"{run.DisplayName} on prompt(s) {string.Join(' ', run.Mismatches.Distinct())}"))}");
        return 0;
    }

    /// <summary>The names --method takes (vanilla always runs, as the baseline).</summary>
    public static readonly string[] DemoMethods = ["eagle2", "lookup", "draft", "medusa", "eagle3"];

    /// <summary>The drafters --method asks for, in the order given, each checked to have its weights.</summary>
    private static List<MethodKind> Kinds(Args a)
    {
        var kinds = new List<MethodKind>();
        foreach (var name in a.Methods)
        {
            if (name.Equals("vanilla", StringComparison.OrdinalIgnoreCase)) continue;
            if (!DemoMethods.Contains(name, StringComparer.OrdinalIgnoreCase) || !MethodSpec.Drafters.TryGetValue(name, out var kind))
                throw new FrSpecException($"--method {name}: expected {string.Join(", ", DemoMethods)}");
            var (path, flag, file) = kind switch
            {
                MethodKind.DraftModel => (a.DraftModel, "--draft-model", a.DraftModel != null && Formats.Gguf.GgufFile.IsGgufPath(a.DraftModel)),
                MethodKind.Medusa => (a.Medusa, "--medusa", false),
                MethodKind.Eagle3 => (a.Eagle3, "--eagle3", false),
                _ => ("", "", false),
            };
            if (path == null) throw new FrSpecException($"--method {name} needs {flag} (its weights)");
            if (path.Length > 0 && (file ? !File.Exists(path) : !Directory.Exists(path))) throw new FrSpecException($"{flag} {path}: no such {(file ? "file" : "directory")}");
            if (!kinds.Contains(kind)) kinds.Add(kind);
        }
        return kinds;
    }

    /// <summary>What one method did over all prompts.</summary>
    private sealed class MethodRun(string name)
    {
        private long _tokens;
        private double _seconds;
        private long _steps, _accepted;
        private readonly Dictionary<int, int> _vocabularyUse = new();

        public List<int> Mismatches { get; } = new();
        public TreePlan? LastTree { get; private set; }

        /// <summary>The method's name; "fr-auto" ("NAME-fr-auto") shows as fr-&lt;V'&gt; with the V' it ended most prompts with.</summary>
        public string DisplayName => name.EndsWith("fr-auto", StringComparison.Ordinal) && _vocabularyUse.Count > 0
            ? name[..^"auto".Length] + _vocabularyUse.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).First().Key.ToString(CultureInfo.InvariantCulture) : name;

        public double TokensPerSecond => _seconds > 0 ? _tokens / _seconds : 0;
        public double MeanAcceptLength => _steps > 0 ? (double)_accepted / _steps : 0;

        public void Add(GenerationResult r)
        {
            _tokens += r.Ids.Length;
            _seconds += r.DecodeSeconds;
            _steps += r.AcceptLengths.Length;
            foreach (int x in r.AcceptLengths) _accepted += x;
            if (r.Tree is { } plan)
            {
                LastTree = plan;
                _vocabularyUse[plan.DraftVocabularySize] = _vocabularyUse.GetValueOrDefault(plan.DraftVocabularySize) + 1;
            }
        }
    }
}
