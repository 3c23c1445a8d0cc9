using System.CommandLine;
using FrSpec.Benchmarks;
using FrSpec.Numerics;
using FrSpec.Sessions;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec bench products`: one pass's layer products for n rows under tuning variants that alternate in one process.</summary>
public sealed class BenchProductsCommand : ICliVerb
{
    public string Parent => "bench";

    public Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory or GGUF file", Required = true };
        var rows = new Option<int[]>("--rows") { Description = "Activation rows of the pass (one measurement each)", DefaultValueFactory = _ => [8, 16], AllowMultipleArgumentsPerToken = true };
        var rounds = new Option<int>("--rounds") { Description = "Alternating rounds (medians are quoted)", DefaultValueFactory = _ => 7 };
        var variant = new Option<string[]>("--variant")
        {
            Description = "Tuning variants, name or name:knob=value,... (" + ProductTuning.Describe() + ")",
            DefaultValueFactory = _ => ["default"], AllowMultipleArgumentsPerToken = true,
        };
        var cmd = new Command("products", "Time every layer's matrix products of one pass for n rows (no attention), tuning variants alternating round by round, against one row's pass (the weights' stream)")
        {
            model, rows, rounds, variant,
        };
        cmd.SetAction(pr =>
        {
            var variants = pr.GetValue(variant)!.Select(ProductTuning.Parse).ToList();
            using var lm = LanguageModel.Load(pr.GetValue(model)!, Support.CliEngineOptions.FromEnvironment());
            var target = lm.Target;
            var sizes = pr.GetValue(rows)!.Distinct().ToList();
            var results = PassProductsProbe.Measure(target, sizes, variants, pr.GetValue(rounds));
            var peak = MachineProbe.GeneratedPeak(target.Layers[0].GateProj.IsQuantized ? GeneratedInstruction.Int8Dot : GeneratedInstruction.Bf16Dot);
            Console.WriteLine($"{target.Layers.Count} layers, {target.Compute.Pool.Threads} threads; one row's products {results[0].DecodeMs:F1} ms (median of {pr.GetValue(rounds)} rounds)" +
                              (peak is double p ? $"; dot-product peak {p:F0} GOP/s" : ""));
            foreach (var r in results)
                Console.WriteLine($"rows {r.Rows,3}  {r.Variant,-16} {r.Ms,7:F1} ms  {r.RatioToDecode,5:F2}x one row  {r.Gops,6:F0} GOP/s" +
                                  (peak is double pk ? $"  {100 * r.Gops / pk,5:F1}% of peak" : "") +
                                  "  (" + string.Join(", ", PassProductsProbe.Parts.Select((name, p) => $"{name} {r.PartsMs[p]:F1}")) + " ms)");
            return 0;
        });
        return cmd;
    }
}
