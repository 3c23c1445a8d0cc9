namespace FrSpec.Benchmarks;

/// <summary>
/// This machine's ceilings, measured in one run next to the figures they judge: read bandwidth over all threads (GB/s,
/// median and best of several passes over 1 GiB, with 2 MiB huge pages and with 4 KiB pages) and the peaks of fp32 FMA
/// (managed code) and of the generated kernels' instructions (G operations/s; null where the CPU or the options rule
/// them out).
/// </summary>
public sealed record MachineLimits(int Threads, double HugePagesMedianGBs, double HugePagesBestGBs, double SmallPagesMedianGBs, double SmallPagesBestGBs,
    double ManagedFp32FmaGflops, double? Fp32FmaGflops, double? Bf16DotGflops, double? Int8DotGops)
{
    /// <summary>Measures everything (about 10 s with 1 GiB buffers).</summary>
    public static MachineLimits Measure(long bandwidthBytes = 1L << 30, int repeats = 5)
    {
        var huge = MachineProbe.ReadBandwidth(bandwidthBytes, hugePages: true, repeats);
        var small = MachineProbe.ReadBandwidth(bandwidthBytes, hugePages: false, repeats);
        return new MachineLimits(Numerics.WorkerPool.Shared.Threads, huge.median, huge.best, small.median, small.best, MachineProbe.FmaGflops(),
            MachineProbe.GeneratedPeak(GeneratedInstruction.Fp32Fma), MachineProbe.GeneratedPeak(GeneratedInstruction.Bf16Dot),
            MachineProbe.GeneratedPeak(GeneratedInstruction.Int8Dot));
    }
}
