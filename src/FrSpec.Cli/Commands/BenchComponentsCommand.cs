using System.CommandLine;
using FrSpec.Benchmarks;
using FrSpec.Model;
using FrSpec.Sessions;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec bench components`: the cost of a draft step with the full LM head versus FR-Spec subsets, of verifying T tree
/// tokens versus a single-token decode, and of a long prefill, next to the machine's limits measured in the same run;
/// medians, as text or one JSON object.
/// </summary>
public sealed class BenchComponentsCommand : ICliVerb
{
    public string Parent => "bench";

    public Command Create()
    {
        var model = new Option<string>("--model") { Description = "Target model directory", Required = true };
        var eagle = new Option<string>("--eagle") { Description = "EAGLE-1/2 head directory (e.g. from synth-eagle)", Required = true };
        var fr = new Option<string[]>("--fr") { Description = "FR-Spec token lists (freq_N.pt / SGLang token map); default: the first V' ids for V' = 64k/32k/16k/8k", AllowMultipleArgumentsPerToken = true };
        var rows = new Option<int>("--rows") { Description = "Rows per draft step (the tree's top-k: frontier nodes fed together)", DefaultValueFactory = _ => 8 };
        var context = new Option<int>("--context") { Description = "Tokens already in the caches", DefaultValueFactory = _ => 256 };
        var repeat = new Option<int>("--repeat") { Description = "Repetitions (median reported)", DefaultValueFactory = _ => 20 };
        var tree = new Option<int[]>("--tree-tokens") { Description = "Tree sizes to verify", DefaultValueFactory = _ => [1, 8, 16, 32, 64], AllowMultipleArgumentsPerToken = true };
        var prefill = new Option<int>("--prefill") { Description = "Prompt tokens to prefill once (0: skip)", DefaultValueFactory = _ => 1500 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables" };
        var cmd = new Command("components", "Time draft steps (full vs FR-Spec LM heads), tree verification (T tokens vs 1) and prefill against the machine's limits")
        {
            model, eagle, fr, rows, context, repeat, tree, prefill, json,
        };
        cmd.SetAction(pr =>
        {
            using var lm = LanguageModel.Load(pr.GetValue(model)!, Support.CliEngineOptions.FromEnvironment());
            var target = lm.Target;
            var head = lm.EagleHead(pr.GetValue(eagle)!);
            int vocab = target.Config.VocabSize, reps = Math.Max(1, pr.GetValue(repeat)), ctx = Math.Max(1, pr.GetValue(context));
            var variants = new List<(string, DraftVocabulary?)> { ($"full ({vocab})", null) };
            var files = pr.GetValue(fr) ?? [];
            if (files.Length > 0)
                foreach (var f in files) { var v = lm.Vocabulary.LoadDraftVocabulary(f); variants.Add(($"{Path.GetFileName(f)} ({v.Count})", v)); }
            else // a stand-in for timing: the first V' ids (BPE ids roughly follow merge order), control ids forced in
                foreach (int size in new[] { 65536, 32768, 16384, 8192 })
                    if (size < vocab) variants.Add(($"first {size / 1024}k", lm.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, size))));

            int k = Math.Max(1, pr.GetValue(rows));
            var sizes = (pr.GetValue(tree) ?? [1, 8, 16, 32, 64]).Where(t => t >= 1).Distinct().ToList();
            if (!sizes.Contains(1)) sizes.Insert(0, 1);
            var machine = MachineLimits.Measure();
            var steps = SpeculationComponents.DraftSteps(target, head, variants, k, ctx, reps);
            var verify = SpeculationComponents.Verification(target, sizes, ctx, reps);
            int prefillTokens = pr.GetValue(prefill);
            var report = new ComponentsReport
            {
                Target = target, Context = ctx, Repeats = reps, Machine = machine, Verify = verify, DraftSteps = steps, DraftRows = k,
                Prefill = prefillTokens > 0 ? SpeculationComponents.Prefill(target, prefillTokens) : null,
            };
            if (pr.GetValue(json)) Console.WriteLine(report.ToJsonText());
            else report.Print(Console.Out);
            return 0;
        });
        return cmd;
    }
}
