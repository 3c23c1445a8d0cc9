using System.CommandLine;
using System.Diagnostics;
using FrSpec.Numerics;
using FrSpec.Training;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec bench gemm`: throughput of the training matrix kernels (NN, TN, NT) against the FMA roofline.</summary>
public sealed class BenchGemmCommand : ICliVerb
{
    public string Parent => "bench";

    public Command Create()
    {
        var m = new Option<int>("--m") { Description = "Rows of C (tokens per chunk)", DefaultValueFactory = _ => 128 };
        var k = new Option<int>("--k") { Description = "Inner dimension (hidden size)", DefaultValueFactory = _ => 128 };
        var n = new Option<int>("--n") { Description = "Columns of C (vocabulary rows)", DefaultValueFactory = _ => 41562 };
        var reps = new Option<int>("--reps") { Description = "Repetitions per kernel", DefaultValueFactory = _ => 5 };
        var cmd = new Command("gemm", "Measure the training GEMM kernels (GFLOP/s by wall clock and per CPU-second) against the FMA roofline") { m, k, n, reps };
        cmd.SetAction(pr =>
        {
            int M = pr.GetValue(m), K = pr.GetValue(k), N = pr.GetValue(n), R = pr.GetValue(reps);
            var rnd = new Random(1);
            float[] Rand(long len) { var a = new float[len]; for (long i = 0; i < len; i++) a[i] = (float)rnd.NextDouble() - 0.5f; return a; }
            var x = Rand((long)M * K); var w = Rand((long)N * K); var y = new float[(long)M * N]; var dx = new float[(long)M * K]; var dw = new float[(long)N * K];
            var proc = Process.GetCurrentProcess();
            void Time(string name, Action a)
            {
                a(); // warm-up (JIT, pack buffers)
                proc.Refresh();
                var cpu0 = proc.TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < R; i++) a();
                double wall = sw.Elapsed.TotalSeconds;
                proc.Refresh();
                double cpu = (proc.TotalProcessorTime - cpu0).TotalSeconds;
                double flops = 2.0 * M * K * N * R;
                Console.WriteLine($"{name,-26} {flops / wall / 1e9,7:F1} GFLOP/s wall ({100 * flops / wall / 1e9 / TrainingLog.RooflineGflops:F1}% of {TrainingLog.RooflineGflops} roofline), " +
                                  $"{flops / cpu / 1e9,6:F1} GFLOP per CPU-second ({100 * flops / cpu / 1e9 / (TrainingLog.RooflineGflops / Environment.ProcessorCount):F1}% of one core's peak)");
            }
            Console.WriteLine($"M={M} K={K} N={N}, {WorkerPool.Shared.Threads} threads");
            Time("NT  logits = x·Wᵀ", () => Gemm.MultiplyNT(x, w, y, M, K, N));
            Time("NN  dx = dy·W", () => Gemm.MultiplyNN(y, w, dx, M, N, K));
            Time("TN  dW += dyᵀ·x", () => Gemm.MultiplyTN(y, x, dw, N, M, K, accumulate: true));
            return 0;
        });
        return cmd;
    }
}
