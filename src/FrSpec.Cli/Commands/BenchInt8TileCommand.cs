using System.CommandLine;
using FrSpec.Benchmarks;
using FrSpec.Numerics;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec bench int8-tile`: one generated int8 kernel on one thread, and the same product on the pool, against the vpdpbusd peak.</summary>
public sealed class BenchInt8TileCommand : ICliVerb
{
    public string Parent => "bench";

    public Command Create()
    {
        var type = new Option<string>("--type") { Description = "Weight type: q8_0, q4_0, q4_k or q6_k", DefaultValueFactory = _ => "q8_0" };
        var acts = new Option<int[]>("--acts") { Description = "Activation rows per tile (1..16), one measurement each", DefaultValueFactory = _ => [1, 8, 16], AllowMultipleArgumentsPerToken = true };
        var rows = new Option<int>("--matrix-rows") { Description = "Weight rows (a multiple of 16)", DefaultValueFactory = _ => 128 };
        var cols = new Option<int>("--matrix-cols") { Description = "Columns (a multiple of 256)", DefaultValueFactory = _ => 2048 };
        var seconds = new Option<double>("--seconds") { Description = "Seconds per measurement", DefaultValueFactory = _ => 1.0 };
        var cmd = new Command("int8-tile", "Time one generated int8 kernel on one thread (weights in cache for small matrices, streamed for large ones) against the same thread's vpdpbusd peak, then the same product on the pool") { type, acts, rows, cols, seconds };
        cmd.SetAction(pr =>
        {
            var t = pr.GetValue(type)!.ToLowerInvariant() switch
            {
                "q8_0" => DType.Q8_0, "q4_0" => DType.Q4_0, "q4_k" => DType.Q4_K, "q6_k" => DType.Q6_K,
                var s => throw new FrSpecException($"--type: unknown weight type '{s}' (q8_0, q4_0, q4_k, q6_k)"),
            };
            foreach (int m in pr.GetValue(acts)!)
            {
                if (Int8TileProbe.Measure(t, m, pr.GetValue(rows), pr.GetValue(cols), pr.GetValue(seconds)) is not { } res)
                {
                    Console.WriteLine("generated int8 kernels not available (CPU, OS or FRSPEC_CODEGEN=off)");
                    return 1;
                }
                Console.WriteLine($"{res.Type} acts={res.Acts,2} {res.Rows}x{res.Cols}: {res.KernelGops,6:F1} GOP/s, peak {res.PeakGops:F1} GOP/s, {100 * res.ShareOfPeak:F1}% of one thread's vpdpbusd peak; " +
                                  $"MatMul on {res.Threads} threads {res.PoolGops:F1} GOP/s, {100 * res.PoolShareOfPeak:F1}%");
            }
            return 0;
        });
        return cmd;
    }
}
