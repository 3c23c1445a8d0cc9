using System.CommandLine;
using FrSpec.Benchmarks;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec bench bf16-tile`: the generated bf16 panel kernel on one thread, and the same product on the pool, against the vdpbf16ps peak.</summary>
public sealed class BenchBf16TileCommand : ICliVerb
{
    public string Parent => "bench";

    public Command Create()
    {
        var acts = new Option<int[]>("--acts") { Description = "Activation rows of the block (1..12), one measurement each", DefaultValueFactory = _ => [1, 8, 12], AllowMultipleArgumentsPerToken = true };
        var rows = new Option<int>("--matrix-rows") { Description = "Weight rows (a multiple of 32)", DefaultValueFactory = _ => 128 };
        var cols = new Option<int>("--matrix-cols") { Description = "Columns (even)", DefaultValueFactory = _ => 2048 };
        var seconds = new Option<double>("--seconds") { Description = "Seconds per measurement", DefaultValueFactory = _ => 1.0 };
        var variant = new Option<string[]>("--variant")
        {
            Description = "Tuning variants, alternating (see bench products --help)", DefaultValueFactory = _ => ["default"], AllowMultipleArgumentsPerToken = true,
        };
        var cmd = new Command("bf16-tile", "Time the generated bf16 panel kernel on one thread (weights in cache for small matrices, streamed for large ones) against the same thread's vdpbf16ps peak, then the same product on the pool") { acts, rows, cols, seconds, variant };
        cmd.SetAction(pr =>
        {
            foreach (int m in pr.GetValue(acts)!)
            {
                var variants = pr.GetValue(variant)!.Select(ProductTuning.Parse).ToList();
                if (Bf16TileProbe.Measure(m, pr.GetValue(rows), pr.GetValue(cols), pr.GetValue(seconds), variants) is not { } results)
                {
                    Console.WriteLine("generated bf16 kernels not available (CPU, OS, FRSPEC_CODEGEN=off or FRSPEC_PRECISION=exact)");
                    return 1;
                }
                foreach (var res in results)
                    Console.WriteLine($"bf16 {res.Variant,-10} acts={res.Acts,2} {res.Rows}x{res.Cols}: {res.KernelGops,6:F1} GOP/s, peak {res.PeakGops:F1} GOP/s, {100 * res.ShareOfPeak:F1}% of one thread's vdpbf16ps peak; " +
                                      $"MatMul on {res.Threads} threads {res.PoolGops:F1} GOP/s, {100 * res.PoolShareOfPeak:F1}%");
            }
            return 0;
        });
        return cmd;
    }
}
