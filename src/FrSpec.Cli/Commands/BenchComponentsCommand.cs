using System.CommandLine;
using FrSpec.Benchmarks;
using FrSpec.Model;
using FrSpec.Sessions;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec bench components`: the cost of a draft step with the full LM head versus FR-Spec subsets, and of verifying
/// T tree tokens versus a single-token decode, as medians with ratios from the same run.
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
        var cmd = new Command("components", "Time a draft step (full vs FR-Spec LM heads) and tree verification (T tokens vs 1)")
        {
            model, eagle, fr, rows, context, repeat, tree,
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

            Console.WriteLine($"target {target.Directory}: hidden {target.Config.HiddenSize}, vocab {vocab}, {target.Head.Weight.Type}; head {head.Source}");
            Console.WriteLine($"{target.Compute.Pool.Threads} threads, context {ctx}, {reps} repetitions (medians)");
            Console.WriteLine();
            int k = Math.Max(1, pr.GetValue(rows));
            var steps = SpeculationComponents.DraftSteps(target, head, variants, k, ctx, reps);
            Console.WriteLine($"Draft step ({k} rows)        V'   layer ms  head ms  total ms  head share  vs full");
            double full = steps[0].TotalMs;
            foreach (var s in steps)
                Console.WriteLine($"{s.Label,-24} {s.VocabRows,7} {s.LayerMs,9:F3} {s.HeadMs,8:F3} {s.TotalMs,9:F3} {100 * s.HeadMs / s.TotalMs,10:F0}% {full / s.TotalMs,7:F2}x");
            Console.WriteLine();
            var sizes = (pr.GetValue(tree) ?? [1, 8, 16, 32, 64]).Where(t => t >= 1).Distinct().ToList();
            if (!sizes.Contains(1)) sizes.Insert(0, 1);
            var verify = SpeculationComponents.Verification(target, sizes, ctx, reps);
            double one = verify.First(v => v.TreeTokens == 1).Ms;
            Console.WriteLine("Verify T tree tokens      ms   vs 1-token decode");
            foreach (var v in verify) Console.WriteLine($"T = {v.TreeTokens,-6} {v.Ms,12:F3} {v.Ms / one,10:F2}x");
            return 0;
        });
        return cmd;
    }
}
