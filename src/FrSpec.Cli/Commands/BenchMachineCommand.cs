using System.CommandLine;
using FrSpec.Benchmarks;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec bench machine`: the rooflines (read bandwidth, FMA and dot-product peaks) the engine's numbers are judged against.</summary>
public sealed class BenchMachineCommand : ICliVerb
{
    public string Parent => "bench";

    public Command Create()
    {
        var size = new Option<int>("--mib") { Description = "Buffer size in MiB for the bandwidth test", DefaultValueFactory = _ => 1024 };
        var cmd = new Command("machine", "Measure memory bandwidth (4 KiB and 2 MiB pages) and the fp32 FMA, vdpbf16ps and vpdpbusd peaks") { size };
        cmd.SetAction(pr =>
        {
            var m = MachineLimits.Measure((long)pr.GetValue(size) << 20, repeats: 7);
            static string Peak(double? v, string unit) => v is double d ? $"{d:F0} {unit}" : "not available (CPU, OS or FRSPEC_CODEGEN=off)";
            Console.WriteLine($"threads                       {m.Threads}");
            Console.WriteLine($"read bandwidth, 4 KiB pages   {m.SmallPagesMedianGBs:F1} GB/s median, {m.SmallPagesBestGBs:F1} best");
            Console.WriteLine($"read bandwidth, 2 MiB THP     {m.HugePagesMedianGBs:F1} GB/s median, {m.HugePagesBestGBs:F1} best");
            Console.WriteLine($"fp32 FMA, managed Vector256   {m.ManagedFp32FmaGflops:F0} GFLOP/s");
            Console.WriteLine($"fp32 FMA, generated zmm       {Peak(m.Fp32FmaGflops, "GFLOP/s")}");
            Console.WriteLine($"vdpbf16ps, generated zmm      {Peak(m.Bf16DotGflops, "GFLOP/s")}");
            Console.WriteLine($"vpdpbusd, generated zmm       {Peak(m.Int8DotGops, "GOP/s")}");
            Console.WriteLine($"CPU features (CPUID)          {FrSpec.Numerics.CodeGen.CpuFeatures.Detect()}; managed kernels use {FrSpec.Numerics.MatMul.BestIsa}");
            return 0;
        });
        return cmd;
    }
}
