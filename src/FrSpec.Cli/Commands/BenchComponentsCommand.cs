using System.CommandLine;
using FrSpec.Benchmarks;
using FrSpec.Model;
using FrSpec.Sessions;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec bench components`: the cost of a draft step of each drafter given (EAGLE-1/2/3, a draft model, Medusa) with
/// its full LM head versus FR-Spec subsets, prompt lookup's search, of verifying T tree tokens versus a single-token
/// decode, and of a long prefill, next to the machine's limits measured in the same run; medians, as text or one JSON
/// object.
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
        var prefill = new Option<int>("--prefill") { Description = "Prompt tokens to prefill once (0: skip)", DefaultValueFactory = _ => 1500 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables" };
        var cmd = new Command("components", "Time each drafter's draft step (full vs FR-Spec LM heads), tree verification (T tokens vs 1) and prefill against the machine's limits")
        {
            model, eagle, draftModel, medusa, lookup, fr, rows, context, repeat, tree, prefill, json,
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

            int k = Math.Max(1, pr.GetValue(rows));
            var drafters = new List<ComponentsReport.DrafterSteps>();
            if (pr.GetValue(eagle) is string e)
            {
                if (Speculative.Eagle3Head.IsEagle3Directory(e))
                {
                    var head = lm.Eagle3Head(e);
                    var eagleVariants = new List<(string, DraftVocabulary?)> { ($"draft vocab ({head.DraftVocabSize})", null) };
                    eagleVariants.AddRange(variants.Skip(1));
                    drafters.Add(new("EAGLE-3 draft step", k, SpeculationComponents.NetworkSteps(eagleVariants.Select(v =>
                        (v.Item1, (Speculative.IDraftNetwork)Speculative.Eagle3Network.For(head, target, lm.Eagle3DraftHead(e, v.Item2)))).ToList(), vocab, k, ctx, reps, target)));
                }
                else drafters.Add(new("EAGLE-2 draft step", k, SpeculationComponents.DraftSteps(target, lm.EagleHead(e), variants, k, ctx, reps)));
            }
            if (pr.GetValue(draftModel) is string d)
            {
                var draft = lm.DraftModel(d).Target;
                foreach (int r in new[] { 1, k }.Distinct()) // a chain feeds one row per step, a tree k
                    drafters.Add(new($"Draft-model step ({draft.Config.NumLayers} layers, hidden {draft.Config.HiddenSize}; {(r == 1 ? "a chain" : "a tree")})", r,
                        SpeculationComponents.NetworkSteps(variants.Select(v =>
                            (v.Item1, (Speculative.IDraftNetwork)new Speculative.DraftModelNetwork(draft, lm.DraftModelHead(d, v.Item2)))).ToList(), vocab, r, ctx, reps, target)));
            }
            if (pr.GetValue(medusa) is string m)
            {
                var heads = lm.Medusa(m);
                var choices = Speculative.MedusaTree.McSim7b63;
                int depth = Math.Min(choices.Depth, heads.Count), top = choices.TopKPerHead.Max();
                drafters.Add(new($"Medusa draft ({depth} heads, top-{top}; the layer column is the ResBlocks)", 1, SpeculationComponents.MedusaSteps(heads,
                    variants.Select(v => (v.Item1, lm.MedusaLmHeads(m, v.Item2))).ToList(), depth, top, target.Compute, reps, target, ctx)));
            }
            double? lookupMs = pr.GetValue(lookup) ? SpeculationComponents.LookupSearch(Speculative.PromptLookupOptions.Default, vocab, ctx, reps) : null;
            var sizes = (pr.GetValue(tree) ?? [1, 8, 16, 32, 64]).Where(t => t >= 1).Distinct().ToList();
            if (!sizes.Contains(1)) sizes.Insert(0, 1);
            var machine = MachineLimits.Measure();
            IReadOnlyList<VerifyTiming> verify;
            // decode's read passes: the weights' page size and threads, 1 GiB (about as long as a decode step reads)
            using (var pass = new MachineProbe.ReadPass(1L << 30, target.UsesHugePages, target.Compute.Pool))
                verify = SpeculationComponents.Verification(target, sizes, ctx, reps, pass);
            int prefillTokens = pr.GetValue(prefill);
            var report = new ComponentsReport
            {
                Target = target, Context = ctx, Repeats = reps, Machine = machine, Verify = verify, Drafters = drafters, LookupSearchMs = lookupMs,
                Prefill = prefillTokens > 0 ? SpeculationComponents.Prefill(target, prefillTokens) : null,
            };
            if (pr.GetValue(json)) Console.WriteLine(report.ToJsonText());
            else report.Print(Console.Out);
            return 0;
        });
        return cmd;
    }
}
