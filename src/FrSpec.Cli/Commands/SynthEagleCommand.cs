using System.CommandLine;
using FrSpec.Cli.Support;
using FrSpec.Synthesis;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec synth-eagle`: writes a seeded random EAGLE-1/2 head for a target model, in the published layout.</summary>
public sealed class SynthEagleCommand : ICliVerb
{
    public Command Create()
    {
        var model = new Option<string>("--model") { Description = "Target model directory (Llama-3 or Qwen2 family)", Required = true };
        var expand = new Option<string?>("--expand") { Description = "An EAGLE head of the small model that --model was expanded from: expand it to --model's shape" };
        var output = new Option<string>("--out") { Description = "Output directory for the head", Required = true };
        var format = new Option<string>("--format") { Description = "bin (pytorch_model.bin, as yuhuili/EAGLE-* ship) or safetensors", DefaultValueFactory = _ => "bin" };
        var seed = new Option<ulong>("--seed") { Description = "Random seed (same seed, same weights)", DefaultValueFactory = _ => 1UL };
        var force = new Option<bool>("--force") { Description = "Replace --out even when it already holds files" };
        var cmd = new Command("synth-eagle", "Synthesize an EAGLE-1/2 draft head (config.json + pytorch_model.bin or model.safetensors) for a target model")
        {
            model, expand, output, format, seed, force,
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
            EagleSynthesizer.Write(modelDir, folder.Path, pr.GetValue(format)!, pr.GetValue(seed));
            folder.Commit();
            Console.Error.WriteLine($"wrote {outDir} ({pr.GetValue(format)}) in {sw.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return cmd;
    }
}
