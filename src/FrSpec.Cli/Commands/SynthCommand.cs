using System.CommandLine;
using FrSpec.Numerics;
using FrSpec.Synthesis;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec synth`: writes a seeded random model in exact Hugging Face layout.</summary>
public sealed class SynthCommand : ICliVerb
{
    public Command Create()
    {
        var preset = new Option<string>("--preset") { Description = $"Model shape: {string.Join(", ", SynthSpec.PresetNames)}", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json to ship with the model (its tokenizer_config.json is copied too)" };
        var output = new Option<string>("--out") { Description = "Output directory", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "bf16, f16 or f32", DefaultValueFactory = _ => "bf16" };
        var seed = new Option<ulong>("--seed") { Description = "Random seed (same seed, same bytes)", DefaultValueFactory = _ => 0UL };
        var cmd = new Command("synth", "Synthesize a model directory (config.json, safetensors, tokenizer) with seeded random weights")
        {
            preset, tokenizer, output, dtype, seed,
        };
        cmd.SetAction(pr =>
        {
            var spec = SynthSpec.Preset(pr.GetValue(preset)!);
            string? tok = pr.GetValue(tokenizer);
            if (tok != null && Directory.Exists(tok)) tok = Path.Combine(tok, "tokenizer.json");
            var sw = System.Diagnostics.Stopwatch.StartNew();
            ModelSynthesizer.Write(spec, pr.GetValue(output)!, DTypeInfo.Parse(pr.GetValue(dtype)!), pr.GetValue(seed), tok);
            Console.Error.WriteLine($"wrote {pr.GetValue(output)} ({pr.GetValue(preset)}, {pr.GetValue(dtype)}) in {sw.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return cmd;
    }
}
