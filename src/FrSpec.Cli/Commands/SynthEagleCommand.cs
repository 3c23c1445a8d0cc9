using System.CommandLine;
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
        var cmd = new Command("synth-eagle", "Synthesize an EAGLE-1/2 draft head (config.json + pytorch_model.bin or model.safetensors) for a target model")
        {
            model, expand, output, format, seed, draftVocab,
        };
        cmd.SetAction(pr =>
        {
            if (pr.GetValue(expand) is string small)
            {
                SynthCommand.EnsureEmpty(pr.GetValue(output)!);
                var timer = System.Diagnostics.Stopwatch.StartNew();
                Support.ProgressBar.Run("expanding EAGLE head", p => ModelExpander.ExpandEagle(small, pr.GetValue(model)!, pr.GetValue(output)!, p));
                Console.Error.WriteLine($"wrote {pr.GetValue(output)} (expansion of {small} for {pr.GetValue(model)}) in {timer.Elapsed.TotalSeconds:F1} s");
                return 0;
            }
            var sw = System.Diagnostics.Stopwatch.StartNew();
            SynthCommand.EnsureEmpty(pr.GetValue(output)!);
            if (pr.GetValue(format) is "eagle3" or "eagle3-safetensors")
                Eagle3Synthesizer.Write(pr.GetValue(model)!, pr.GetValue(output)!, pr.GetValue(format) == "eagle3" ? Eagle3Layout.Official : Eagle3Layout.Speculators,
                    pr.GetValue(seed), pr.GetValue(draftVocab));
            else
            {
                if (pr.GetValue(draftVocab) != null) throw new FrSpecException("--draft-vocab applies to --format eagle3 or eagle3-safetensors");
                EagleSynthesizer.Write(pr.GetValue(model)!, pr.GetValue(output)!, pr.GetValue(format)!, pr.GetValue(seed));
            }
            Console.Error.WriteLine($"wrote {pr.GetValue(output)} ({pr.GetValue(format)}) in {sw.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return cmd;
    }
}
