namespace FrSpec.Numerics.CodeGen;

/// <summary>
/// The kernels generated for this CPU: vdpbf16ps where CPUID reports AVX512_BF16, vpdpbusd where it reports
/// AVX512_VNNI. Generated once per process (a few microseconds of assembling) and shared by every <see cref="Compute"/>.
/// </summary>
internal sealed class GeneratedKernels
{
    public CpuFeatures Cpu { get; }
    /// <summary>bf16 × bf16 kernels, or null when the CPU lacks AVX512_BF16.</summary>
    public Bf16DotKernels? Bf16 { get; }
    /// <summary>bf16 × bf16 kernels for weights packed into panels, or null when the CPU lacks AVX512_BF16.</summary>
    public Bf16PanelKernels? Bf16Panels { get; }
    /// <summary>Throughput probes of the instructions the kernels use (benchmarks).</summary>
    public PeakProbeKernels Probes { get; }
    /// <summary>Q8_0 × int8 kernels, or null when the CPU lacks AVX512_VNNI.</summary>
    public Int8DotKernels? Int8 { get; }

    private GeneratedKernels(CpuFeatures cpu, Bf16DotKernels? bf16, Bf16PanelKernels? panels, Int8DotKernels? int8, PeakProbeKernels probes)
    {
        Cpu = cpu; Bf16 = bf16; Bf16Panels = panels; Int8 = int8; Probes = probes;
    }

    private static readonly Lazy<(GeneratedKernels? Kernels, string? Notice)> s_machine = new(() =>
    {
        var k = TryCreate(CpuFeatures.Detect(), ExecutableMemory.Place, out string? notice);
        if (notice != null) Console.Error.WriteLine(notice);
        return (k, notice);
    });

    /// <summary>This machine's kernels (null when there is nothing to generate for this CPU or the OS refused executable
    /// memory; then <paramref name="notice"/> says why, once, and the managed kernels run instead).</summary>
    public static GeneratedKernels? ForThisMachine(out string? notice)
    {
        var (k, n) = s_machine.Value;
        notice = n;
        return k;
    }

    /// <summary>Generates the kernels <paramref name="cpu"/> can run, placing them with <paramref name="placer"/>. Returns
    /// null with a one-line <paramref name="notice"/> when placing fails, and null without one when the CPU has none of
    /// the instructions.</summary>
    public static GeneratedKernels? TryCreate(CpuFeatures cpu, CodePlacer placer, out string? notice)
    {
        notice = null;
        if (!cpu.CanRunBf16Kernels && !cpu.CanRunInt8Kernels) return null;
        try
        {
            return new GeneratedKernels(cpu, cpu.CanRunBf16Kernels ? Bf16DotKernels.Create(placer) : null,
                cpu.CanRunBf16Kernels ? Bf16PanelKernels.Create(placer) : null, cpu.CanRunInt8Kernels ? Int8DotKernels.Create(placer) : null,
                PeakProbeKernels.Create(cpu, placer));
        }
        catch (FrSpecException e)
        {
            notice = $"frspec: generated kernels are off ({e.Message}); using managed kernels";
            return null;
        }
    }

    public override string ToString() =>
        "generated " + string.Join("/", new[] { Bf16 != null ? "vdpbf16ps" : null, Int8 != null ? "vpdpbusd" : null }.Where(s => s != null));
}
