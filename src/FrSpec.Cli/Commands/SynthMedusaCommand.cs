using System.CommandLine;
using FrSpec.Cli.Support;
using FrSpec.Synthesis;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec synth-medusa`: writes seeded random Medusa-1 heads for a target model, in the published layout.</summary>
public sealed class SynthMedusaCommand : ICliVerb
{
    public Command Create()
    {
        var model = new Option<string>("--model") { Description = "Target model directory", Required = true };
        var expand = new Option<string?>("--expand") { Description = "Medusa heads of the small model that --model was expanded from: expand them to --model's shape" };
        var output = new Option<string>("--out") { Description = "Output directory for the heads", Required = true };
        var heads = new Option<int>("--heads") { Description = "Number of heads (tree depth at most this)", DefaultValueFactory = _ => 4 };
        var layers = new Option<int>("--layers") { Description = "ResBlocks per head", DefaultValueFactory = _ => 1 };
        var format = new Option<string>("--format") { Description = "safetensors (medusa_lm_head.safetensors) or pt (medusa_lm_head.pt, as Medusa's releases)", DefaultValueFactory = _ => "safetensors" };
        var seed = new Option<ulong>("--seed") { Description = "Random seed (same seed, same weights)", DefaultValueFactory = _ => 1UL };
        var force = new Option<bool>("--force") { Description = "Replace --out even when it already holds files" };
        var cmd = new Command("synth-medusa", "Synthesize Medusa-1 heads (config.json + medusa_lm_head.safetensors or .pt) for a target model, or expand trained ones")
        {
            model, expand, output, heads, layers, format, seed, force,
        };
        cmd.SetAction(pr =>
        {
            string modelDir = pr.GetValue(model)!, outDir = pr.GetValue(output)!;
            // The heads go next to the target, never into it: replacing that folder would destroy the target.
            var target = new OutputFolder.Input(modelDir, "--model", OutputInsideAllowed: false);
            var sw = System.Diagnostics.Stopwatch.StartNew();
            if (pr.GetValue(expand) is string small)
            {
                using var expanded = OutputFolder.Begin(outDir, pr.GetValue(force), "--out", target, new OutputFolder.Input(small, "--expand", OutputInsideAllowed: false));
                ProgressBar.Run("expanding Medusa heads", p => ModelExpander.ExpandMedusa(small, modelDir, expanded.Path, p));
                expanded.Commit();
                Console.Error.WriteLine($"wrote {outDir} (expansion of {small} for {modelDir}) in {sw.Elapsed.TotalSeconds:F1} s");
                return 0;
            }
            using var folder = OutputFolder.Begin(outDir, pr.GetValue(force), "--out", target);
            MedusaSynthesizer.Write(modelDir, folder.Path, pr.GetValue(heads), pr.GetValue(layers), pr.GetValue(format)!, pr.GetValue(seed));
            folder.Commit();
            Console.Error.WriteLine($"wrote {outDir} ({pr.GetValue(heads)} heads, {pr.GetValue(format)}) in {sw.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return cmd;
    }
}
