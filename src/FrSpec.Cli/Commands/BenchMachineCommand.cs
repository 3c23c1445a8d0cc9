using System.CommandLine;
using FrSpec.Benchmarks;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec bench machine`: the rooflines (read bandwidth, FMA throughput) the engine's numbers are judged against.</summary>
public sealed class BenchMachineCommand : ICliVerb
{
    public string Parent => "bench";

    public Command Create()
    {
        var size = new Option<int>("--mib") { Description = "Buffer size in MiB for the bandwidth test", DefaultValueFactory = _ => 1024 };
        var cmd = new Command("machine", "Measure memory bandwidth (4 KiB and 2 MiB pages) and fp32 FMA throughput") { size };
        cmd.SetAction(pr =>
        {
            long bytes = (long)pr.GetValue(size) << 20;
            var small = MachineProbe.ReadBandwidth(bytes, hugePages: false);
            var huge = MachineProbe.ReadBandwidth(bytes, hugePages: true);
            Console.WriteLine($"threads                      {FrSpec.Numerics.WorkerPool.Shared.Threads}");
            Console.WriteLine($"read bandwidth, 4 KiB pages  {small.median:F1} GB/s median, {small.best:F1} best");
            Console.WriteLine($"read bandwidth, 2 MiB THP    {huge.median:F1} GB/s median, {huge.best:F1} best");
            Console.WriteLine($"fp32 FMA                     {MachineProbe.FmaGflops():F0} GFLOP/s");
            // .NET 10 exposes AVX-512F/BW/VBMI and VEX VNNI, but no AVX512_BF16 dot product (vdpbf16ps): the kernels'
            // compute ceiling is therefore the fp32 FMA peak printed above.
            Console.WriteLine($"instruction sets .NET exposes here: AVX-512F {System.Runtime.Intrinsics.X86.Avx512F.IsSupported}, "
                + $"AVX-512BW {System.Runtime.Intrinsics.X86.Avx512BW.IsSupported}, AVX2 {System.Runtime.Intrinsics.X86.Avx2.IsSupported}, "
                + $"AVX-VNNI {System.Runtime.Intrinsics.X86.AvxVnni.IsSupported}, AVX10.1 {System.Runtime.Intrinsics.X86.Avx10v1.IsSupported}; kernels use {FrSpec.Numerics.MatMul.BestIsa}");
            return 0;
        });
        return cmd;
    }
}
