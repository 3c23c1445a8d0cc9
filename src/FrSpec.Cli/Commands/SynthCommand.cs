using System.CommandLine;
using FrSpec.Cli.Support;
using FrSpec.Numerics;
using FrSpec.Synthesis;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec synth`: writes a seeded random model in exact Hugging Face layout (--preset), or expands a small model to a
/// real shape with unchanged output (--expand/--shape), a cost model for measuring speculation at real cost.
/// </summary>
public sealed class SynthCommand : ICliVerb
{
    public Command Create()
    {
        var preset = new Option<string?>("--preset") { Description = $"Model shape: {string.Join(", ", SynthSpec.PresetNames)}" };
        var expand = new Option<string?>("--expand") { Description = "Small model directory to expand to --shape (output equal to the small model's; docs/expansion.md)" };
        var shape = new Option<string?>("--shape") { Description = $"Real shape for --expand: {string.Join(", ", ExpansionShape.Names)}" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json to ship with the model (its tokenizer_config.json is copied too)" };
        var output = new Option<string>("--out") { Description = "Output directory", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "bf16, f16 or f32", DefaultValueFactory = _ => "bf16" };
        var seed = new Option<ulong>("--seed") { Description = "Random seed (same seed, same bytes)", DefaultValueFactory = _ => 0UL };
        var force = new Option<bool>("--force") { Description = "Replace --out even when it already holds files" };
        var cmd = new Command("synth", "Synthesize a model directory (config.json, safetensors, tokenizer) with seeded random weights")
        {
            preset, expand, shape, tokenizer, output, dtype, seed, force,
        };
        cmd.SetAction(pr =>
        {
            string outDir = pr.GetValue(output)!;
            if (pr.GetValue(expand) is string small)
            {
                if (pr.GetValue(preset) != null) throw new FrSpecException("give either --preset or --expand, not both");
                var target = ExpansionShape.Find(pr.GetValue(shape) ?? throw new FrSpecException("--expand needs --shape"));
                using var expanded = OutputFolder.Begin(outDir, pr.GetValue(force), "--out", new OutputFolder.Input(small, "--expand", OutputInsideAllowed: false));
                var timer = System.Diagnostics.Stopwatch.StartNew();
                ProgressBar.Run($"expanding to {target.Name}", p => ModelExpander.ExpandTarget(small, target, expanded.Path, p));
                expanded.Commit();
                Console.Error.WriteLine($"wrote {outDir} ({target.Name} expansion of {small}) in {timer.Elapsed.TotalSeconds:F1} s");
                return 0;
            }
            var spec = SynthSpec.Preset(pr.GetValue(preset) ?? throw new FrSpecException("give --preset NAME (or --expand DIR --shape NAME)"));
            string? tok = pr.GetValue(tokenizer);
            if (tok != null && Directory.Exists(tok)) tok = Path.Combine(tok, "tokenizer.json");
            var dt = DTypeInfo.Parse(pr.GetValue(dtype)!);
            using var folder = OutputFolder.Begin(outDir, pr.GetValue(force), "--out", new OutputFolder.Input(tok, "--tokenizer"));
            var sw = System.Diagnostics.Stopwatch.StartNew();
            ModelSynthesizer.Write(spec, folder.Path, dt, pr.GetValue(seed), tok);
            folder.Commit();
            Console.Error.WriteLine($"wrote {outDir} ({pr.GetValue(preset)}, {pr.GetValue(dtype)}) in {sw.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return cmd;
    }
}
