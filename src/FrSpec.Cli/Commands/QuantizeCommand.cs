using System.CommandLine;
using FrSpec.Formats.Gguf;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec quantize`: a Hugging Face model directory (the target, not an EAGLE head) to a quantized GGUF that llama.cpp
/// and FrSpec load, with llama.cpp's per-tensor type mix (docs/gguf.md). Streams, writes atomically, never overwrites.
/// </summary>
public sealed class QuantizeCommand : ICliVerb
{
    public Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory (config.json, safetensors, tokenizer.json)", Required = true };
        var type = new Option<string>("--type") { Description = "q8_0, q4_0 or q4_k_m", Required = true };
        var output = new Option<string>("--out") { Description = "Output .gguf file (must not exist unless --force)", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace --out when it exists (the new file is renamed over it only when complete)" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json for the GGUF (default: the model directory's)" };
        var cmd = new Command("quantize", "Write a quantized GGUF (Q8_0, Q4_0, Q4_K_M) of a model directory")
        {
            model, type, output, tokenizer, force,
        };
        cmd.SetAction(pr =>
        {
            var fileType = QuantizationMix.Parse(pr.GetValue(type)!);
            string dir = pr.GetValue(model)!, outPath = pr.GetValue(output)!;
            if (!Directory.Exists(dir)) throw new FrSpecException($"--model {dir}: model directory not found");
            if (!outPath.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) throw new FrSpecException($"--out {outPath}: the name must end in .gguf");
            string? tok = pr.GetValue(tokenizer);
            if (tok != null && Directory.Exists(tok)) tok = Path.Combine(tok, "tokenizer.json");
            bool replace = pr.GetValue(force);
            if (!replace && File.Exists(outPath)) throw new FrSpecException($"--out {outPath}: the file exists; choose a new name, or pass --force to replace it");
            Support.OutputFile.Check(outPath, replace, "--out", new Support.OutputFolder.Input(tok, "--tokenizer"));
            var timer = System.Diagnostics.Stopwatch.StartNew();
            Support.ProgressBar.Run($"quantizing to {QuantizationMix.Name(fileType)}",
                p => GgufModelExporter.Write(dir, outPath, tok, fileType, overwrite: replace, p));
            Console.Error.WriteLine($"wrote {outPath} in {timer.Elapsed.TotalSeconds:F1} s");
            using var file = GgufFile.Open(outPath);
            long weights = 0, bytes = 0;
            foreach (var t in file.Tensors) { weights += t.ElementCount; bytes += t.ByteCount; }
            foreach (var g in file.Tensors.GroupBy(t => t.Type).OrderByDescending(g => g.Sum(t => t.ByteCount)))
                Console.Error.WriteLine($"  {g.Key,-5} {g.Count(),4} tensors  {g.Sum(t => t.ByteCount) / 1e6,10:F1} MB");
            Console.Error.WriteLine($"  {weights / 1e6:F1} M weights, {bytes / 1e9:F3} GB, {8.0 * bytes / weights:F2} bits per weight");
            return 0;
        });
        return cmd;
    }
}
