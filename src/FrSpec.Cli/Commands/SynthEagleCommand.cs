using System.CommandLine;
using FrSpec.Cli.Support;
using FrSpec.Synthesis;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec synth-eagle`: writes a seeded random EAGLE-1/2 or EAGLE-3 head for a target model, in a published layout.</summary>
public sealed class SynthEagleCommand : ICliVerb
{
    public Command Create()
    {
        var model = new Option<string>("--model") { Description = "Target model directory (Llama-3 or Qwen2 family)", Required = true };
        var expand = new Option<string?>("--expand") { Description = "An EAGLE head of the small model that --model was expanded from: expand it to --model's shape" };
        var output = new Option<string>("--out") { Description = "Output directory for the head", Required = true };
        var format = new Option<string>("--format") { Description = "bin (pytorch_model.bin, as yuhuili/EAGLE-* ship) or safetensors: EAGLE-1/2; eagle3 (the official EAGLE-3 layout, pytorch_model.bin, midlayer.*) or eagle3-safetensors (speculators export: nested config, model.safetensors, layers.0.*)", DefaultValueFactory = _ => "bin" };
        var draftVocab = new Option<int?>("--draft-vocab") { Description = "EAGLE-3: draft vocabulary size (default 32000, or a quarter of a small vocabulary)" };
        var seed = new Option<ulong>("--seed") { Description = "Random seed (same seed, same weights)", DefaultValueFactory = _ => 1UL };
        var force = new Option<bool>("--force") { Description = "Replace --out even when it already holds files" };
        var cmd = new Command("synth-eagle", "Synthesize an EAGLE-1/2 draft head (config.json + pytorch_model.bin or model.safetensors) for a target model")
        {
            model, expand, output, format, seed, draftVocab, force,
        };
        cmd.SetAction(pr =>
        {
            string modelDir = pr.GetValue(model)!, outDir = pr.GetValue(output)!;
            // The head goes next to the target, never into it: replacing that folder would destroy the target.
            var target = new OutputFolder.Input(modelDir, "--model", OutputInsideAllowed: false);
            if (pr.GetValue(expand) is string small)
            {
                using var expanded = OutputFolder.Begin(outDir, pr.GetValue(force), "--out", target, new OutputFolder.Input(small, "--expand", OutputInsideAllowed: false));
                var timer = System.Diagnostics.Stopwatch.StartNew();
                ProgressBar.Run("expanding EAGLE head", p => ModelExpander.ExpandEagle(small, modelDir, expanded.Path, p));
                expanded.Commit();
                Console.Error.WriteLine($"wrote {outDir} (expansion of {small} for {modelDir}) in {timer.Elapsed.TotalSeconds:F1} s");
                return 0;
            }
            using var folder = OutputFolder.Begin(outDir, pr.GetValue(force), "--out", target);
            var sw = System.Diagnostics.Stopwatch.StartNew();
            if (pr.GetValue(format) is "eagle3" or "eagle3-safetensors")
                Eagle3Synthesizer.Write(modelDir, folder.Path, pr.GetValue(format) == "eagle3" ? Eagle3Layout.Official : Eagle3Layout.Speculators,
                    pr.GetValue(seed), pr.GetValue(draftVocab));
            else
            {
                if (pr.GetValue(draftVocab) != null) throw new FrSpecException("--draft-vocab applies to --format eagle3 or eagle3-safetensors");
                EagleSynthesizer.Write(modelDir, folder.Path, pr.GetValue(format)!, pr.GetValue(seed));
            }
            folder.Commit();
            Console.Error.WriteLine($"wrote {outDir} ({pr.GetValue(format)}) in {sw.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return cmd;
    }
}
