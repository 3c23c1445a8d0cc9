using System.CommandLine;
using System.Diagnostics;
using FrSpec.Cli.Support;
using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Speculative;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec demo`: the main job on the embedded default — the trained demo pair in demo/ (target + EAGLE head).
/// Runs vanilla, EAGLE-2 and FR-Spec at several V' on the same prompts, greedy, in interleaved order; prints one
/// answer, then tokens/s, mean accepted length, speed-up and whether every method reproduced vanilla exactly.
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

    public Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Target model directory (default: the bundled demo/target)" };
        var drafters = new DrafterCliOptions();
        drafters.Eagle.Description = "EAGLE head directory (default: the bundled demo/eagle)";
        var method = new Option<string[]>("--method") { Description = "Drafters to compare with vanilla: eagle2 (default), eagle3, draft, medusa, lookup (FR-Spec sizes apply to those with an LM head)", AllowMultipleArgumentsPerToken = true };
        var sizes = new Option<int[]>("--fr-sizes") { Description = "FR-Spec subset sizes V' to compare", DefaultValueFactory = _ => [8192, 16384, 32768], AllowMultipleArgumentsPerToken = true };
        var maxTokens = new Option<int>("--max-tokens") { Description = "New tokens per prompt", DefaultValueFactory = _ => 96 };
        var prompt = new Option<string[]>("--prompt") { Description = "Prompt(s) to use instead of the built-in ones", AllowMultipleArgumentsPerToken = true };
        var rounds = new Option<int>("--rounds") { Description = "Passes over the prompts (speed = median per method)", DefaultValueFactory = _ => 1 };
        var cmd = new Command("demo", "Run vanilla, EAGLE-2 and FR-Spec on the bundled demo model pair and compare speed and output")
        {
            model, method, sizes, maxTokens, prompt, rounds,
        };
        drafters.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            var inputs = drafters.Read(pr);
            string root = BenchmarkDataLocator.FindContentRoot() ?? Directory.GetCurrentDirectory();
            string modelDir = pr.GetValue(model) ?? Path.Combine(root, "demo", "target");
            string eagleDir = inputs.Eagle ?? Path.Combine(root, "demo", "eagle");
            if (!Directory.Exists(modelDir) && !Formats.Gguf.GgufFile.IsGgufPath(modelDir)) throw new FrSpecException($"{modelDir}: demo model not found (train it with `frspec train lm`, see docs/training.md, or pass --model)");
            if (!Directory.Exists(eagleDir)) throw new FrSpecException($"{eagleDir}: demo EAGLE head not found (see docs/training.md, or pass --eagle)");
            var prompts = pr.GetValue(prompt) is { Length: > 0 } p ? p : DefaultPrompts;
            var kinds = (pr.GetValue(method) is { Length: > 0 } m ? m : ["eagle2"])
                .Select(x => DrafterCliOptions.Resolve(x, inputs)).Where(k => k != Benchmarks.MethodKind.Vanilla).Distinct().ToList();
            Run(modelDir, inputs with { Eagle = eagleDir }, kinds, pr.GetValue(sizes)!, prompts, pr.GetValue(maxTokens), Math.Max(1, pr.GetValue(rounds)));
            return 0;
        });
        return cmd;
    }

    private static void Run(string modelDir, Benchmarks.DrafterInputs inputs, IReadOnlyList<Benchmarks.MethodKind> kinds, int[] sizes, string[] prompts, int maxTokens, int rounds)
    {
        using var model = LanguageModel.Load(modelDir, CliEngineOptions.FromEnvironment());
        var config = model.Target.Config;
        var methods = new List<DecodingMethod> { DecodingMethod.Vanilla };
        foreach (var kind in kinds)
        {
            methods.Add(inputs.Method(kind, null));
            if (Benchmarks.MethodSpec.HasLmHead(kind))
                foreach (int v in sizes.Where(v => v < config.VocabSize))
                    methods.Add(inputs.Method(kind, DrafterCliOptions.FrVocabulary(model, null, v, inputs)));
        }
        var decoders = methods.Select(m => model.CreateSession(m)).ToList();
        var options = new GenerationOptions { MaxNewTokens = maxTokens };
        var encoded = prompts.Select(p => model.Vocabulary.Encode(p)).ToArray();
        Console.WriteLine($"model {modelDir} ({config.NumLayers} layers, hidden {config.HiddenSize}, vocab {config.VocabSize}); drafters: {string.Join(", ", methods.Skip(1).Select(m => m.Name))}");
        Console.WriteLine($"tree depth {TreeOptions.Default.Depth}, top-k {TreeOptions.Default.TopK}, {TreeOptions.Default.TotalTokens} tokens; greedy; {maxTokens} new tokens per prompt");
        Console.WriteLine();

        // warm-up (JIT, page faults) on a short run of each method
        foreach (var d in decoders) d.Generate(encoded[0], options with { MaxNewTokens = 8 });

        var tokens = decoders.ToDictionary(d => d.Name, _ => new List<double>());
        var accept = decoders.ToDictionary(d => d.Name, _ => new List<int>());
        var seconds = decoders.ToDictionary(d => d.Name, _ => new List<double>());
        var vanillaIds = new int[encoded.Length][];
        var mismatches = new List<string>();
        for (int r = 0; r < rounds; r++)
            for (int q = 0; q < encoded.Length; q++)
                foreach (var d in decoders) // interleaved: noise hits every method alike
                {
                    var res = d.Generate(encoded[q], options);
                    tokens[d.Name].Add(res.Ids.Length);
                    seconds[d.Name].Add(res.DecodeSeconds);
                    accept[d.Name].AddRange(res.AcceptLengths);
                    if (d.Name == "vanilla") vanillaIds[q] = res.Ids;
                    else if (!res.Ids.SequenceEqual(vanillaIds[q])) mismatches.Add($"{d.Name} on prompt {q + 1}");
                    if (r == 0 && q == 0 && d.Name == "vanilla")
                    {
                        Console.WriteLine($"> {prompts[0]}");
                        Console.WriteLine(model.Vocabulary.Decode(res.Ids));
                        Console.WriteLine();
                    }
                }

        double Speed(string name) => tokens[name].Sum() / seconds[name].Sum();
        double baseline = Speed("vanilla");
        double? eagle2 = tokens.ContainsKey("eagle2") ? Speed("eagle2") : null;
        Console.WriteLine($"{"method",-14} {"tokens/s",9} {"accepted/step",14} {"vs vanilla",11} {"vs EAGLE-2",11}");
        foreach (var d in decoders)
        {
            double s = Speed(d.Name);
            string acc = accept[d.Name].Count > 0 ? accept[d.Name].Average().ToString("F2") : "-";
            string vsEagle = eagle2 is double e ? $"{s / e,10:F2}x" : $"{"-",11}";
            Console.WriteLine($"{d.Name,-14} {s,9:F1} {acc,14} {s / baseline,10:F2}x {vsEagle}");
        }
        Console.WriteLine();
        Console.WriteLine(mismatches.Count == 0
            ? $"All {decoders.Count - 1} speculative methods produced output identical to vanilla on all {encoded.Length} prompts."
            : $"DIFFERENT from vanilla: {string.Join(", ", mismatches)}");
    }
}
