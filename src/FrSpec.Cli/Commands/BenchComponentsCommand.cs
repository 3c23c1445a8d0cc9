using System.CommandLine;
using FrSpec.Benchmarks;
using FrSpec.Model;
using FrSpec.Sessions;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec bench components`: the cost of a draft step of each drafter given (EAGLE-1/2/3, a draft model, Medusa) with
/// its full LM head versus FR-Spec subsets, prompt lookup's search, and of verifying T tree tokens versus a single-token
/// decode, as medians with ratios from the same run.
/// </summary>
public sealed class BenchComponentsCommand : ICliVerb
{
    public string Parent => "bench";

    public Command Create()
    {
        var model = new Option<string>("--model") { Description = "Target model directory", Required = true };
        var eagle = new Option<string?>("--eagle") { Description = "EAGLE-1/2 or EAGLE-3 head directory (e.g. from synth-eagle)" };
        var draftModel = new Option<string?>("--draft-model") { Description = "Draft model directory or .gguf: its draft step per LM-head variant" };
        var medusa = new Option<string?>("--medusa") { Description = "Medusa head directory: one draft (every head) per LM-head variant" };
        var lookup = new Option<bool>("--lookup") { Description = "Also time prompt lookup's n-gram search over --context tokens" };
        var fr = new Option<string[]>("--fr") { Description = "FR-Spec token lists (freq_N.pt / SGLang token map); default: the first V' ids for V' = 64k/32k/16k/8k", AllowMultipleArgumentsPerToken = true };
        var rows = new Option<int>("--rows") { Description = "Rows per draft step (the tree's top-k: frontier nodes fed together)", DefaultValueFactory = _ => 8 };
        var context = new Option<int>("--context") { Description = "Tokens already in the caches", DefaultValueFactory = _ => 256 };
        var repeat = new Option<int>("--repeat") { Description = "Repetitions (median reported)", DefaultValueFactory = _ => 20 };
        var tree = new Option<int[]>("--tree-tokens") { Description = "Tree sizes to verify", DefaultValueFactory = _ => [1, 8, 16, 32, 64], AllowMultipleArgumentsPerToken = true };
        var cmd = new Command("components", "Time a draft step of each drafter given (full vs FR-Spec LM heads) and tree verification (T tokens vs 1)")
        {
            model, eagle, draftModel, medusa, lookup, fr, rows, context, repeat, tree,
        };
        cmd.SetAction(pr =>
        {
            using var lm = LanguageModel.Load(pr.GetValue(model)!, Support.CliEngineOptions.FromEnvironment());
            var target = lm.Target;
            int vocab = target.Config.VocabSize, reps = Math.Max(1, pr.GetValue(repeat)), ctx = Math.Max(1, pr.GetValue(context));
            var variants = new List<(string, DraftVocabulary?)> { ($"full ({vocab})", null) };
            var files = pr.GetValue(fr) ?? [];
            if (files.Length > 0)
                foreach (var f in files) { var v = lm.Vocabulary.LoadDraftVocabulary(f); variants.Add(($"{Path.GetFileName(f)} ({v.Count})", v)); }
            else // a stand-in for timing: the first V' ids (BPE ids roughly follow merge order), control ids forced in
                foreach (int size in new[] { 65536, 32768, 16384, 8192 })
                    if (size < vocab) variants.Add(($"first {size / 1024}k", lm.Vocabulary.CreateDraftVocabulary(Enumerable.Range(0, size))));

            Console.WriteLine($"target {target.Directory}: hidden {target.Config.HiddenSize}, vocab {vocab}, {target.Head.Weight.Type}");
            Console.WriteLine($"{target.Compute.Pool.Threads} threads, context {ctx}, {reps} repetitions (medians)");
            Console.WriteLine();
            int k = Math.Max(1, pr.GetValue(rows));
            bool any = false;
            if (pr.GetValue(eagle) is string e)
            {
                any = true;
                if (Speculative.Eagle3Head.IsEagle3Directory(e))
                {
                    var head = lm.Eagle3Head(e);
                    var eagleVariants = new List<(string, DraftVocabulary?)> { ($"draft vocab ({head.DraftVocabSize})", null) };
                    eagleVariants.AddRange(variants.Skip(1));
                    Print($"EAGLE-3 draft step ({k} rows)", SpeculationComponents.NetworkSteps(eagleVariants.Select(v =>
                        (v.Item1, (Speculative.IDraftNetwork)Speculative.Eagle3Network.For(head, target, lm.Eagle3DraftHead(e, v.Item2)))).ToList(), vocab, k, ctx, reps));
                }
                else Print($"EAGLE-2 draft step ({k} rows)", SpeculationComponents.DraftSteps(target, lm.EagleHead(e), variants, k, ctx, reps));
            }
            if (pr.GetValue(draftModel) is string d)
            {
                any = true;
                var draft = lm.DraftModel(d).Target;
                Console.WriteLine($"draft model {d}: {draft.Config.NumLayers} layers, hidden {draft.Config.HiddenSize}, vocab {draft.Config.VocabSize}");
                foreach (int r in new[] { 1, k }.Distinct()) // a chain feeds one row per step, a tree k
                    Print($"Draft-model step ({r} row{(r == 1 ? ", a chain" : "s, a tree")})", SpeculationComponents.NetworkSteps(variants.Select(v =>
                        (v.Item1, (Speculative.IDraftNetwork)new Speculative.DraftModelNetwork(draft, lm.DraftModelHead(d, v.Item2)))).ToList(), vocab, r, ctx, reps));
            }
            if (pr.GetValue(medusa) is string m)
            {
                any = true;
                var heads = lm.Medusa(m);
                var choices = Speculative.MedusaTree.McSim7b63;
                int depth = Math.Min(choices.Depth, heads.Count);
                Print($"Medusa draft ({depth} heads, top-{choices.TopKPerHead.Max()}; the layer column is the ResBlocks)", SpeculationComponents.MedusaSteps(heads,
                    variants.Select(v => (v.Item1, lm.MedusaLmHeads(m, v.Item2))).ToList(), depth, choices.TopKPerHead.Max(), target.Compute, reps));
            }
            if (pr.GetValue(lookup))
            {
                any = true;
                var options = Speculative.PromptLookupOptions.Default;
                Console.WriteLine($"Prompt lookup search (n-grams {options.MinNgram}..{options.MaxNgram}, {ctx} tokens, no match: the worst case): {SpeculationComponents.LookupSearch(options, vocab, ctx, reps):F4} ms");
                Console.WriteLine();
            }
            if (!any) Console.WriteLine("(no drafter given: --eagle, --draft-model, --medusa or --lookup; verification only)\n");
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

    private static void Print(string title, IReadOnlyList<DraftStepTiming> steps)
    {
        Console.WriteLine($"{title,-28}      V'   layer ms  head ms  total ms  head share  vs full");
        double full = steps[0].TotalMs;
        foreach (var s in steps)
            Console.WriteLine($"{s.Label,-32} {s.VocabRows,7} {s.LayerMs,9:F3} {s.HeadMs,8:F3} {s.TotalMs,9:F3} {100 * s.HeadMs / s.TotalMs,10:F0}% {full / s.TotalMs,7:F2}x");
        Console.WriteLine();
    }
}
