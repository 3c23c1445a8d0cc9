using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using static FrSpec.Numerics.CodeGen.Bf16DotKernels;

namespace FrSpec.Numerics.CodeGen;

/// <summary>
/// Generated throughput probes: a loop of 24 independent zmm accumulators per iteration, all in registers, for the
/// instructions the kernels use (vfmadd231ps, vdpbf16ps, vpdpbusd). They measure this CPU's peak for each with the same
/// code generator and calling convention as the kernels, so a kernel's share of its instruction's peak comes from one
/// run on one machine (`frspec bench machine`, `bench components`).
/// </summary>
internal sealed unsafe class PeakProbeKernels
{
    public enum Instruction { Fp32Fma, Bf16Dot, Int8Dot }

    private const int Accumulators = 24;
    private readonly nint[] _probes; // by Instruction; 0 when the CPU lacks it

    private PeakProbeKernels(nint[] probes) { _probes = probes; }

    /// <summary>Operations one instruction performs on zmm registers (a multiply and an add count as two).</summary>
    public static int OpsPerInstruction(Instruction i) => i switch { Instruction.Fp32Fma => 32, Instruction.Bf16Dot => 64, _ => 128 };

    /// <summary>Whether this machine's probes include <paramref name="i"/>.</summary>
    public bool Has(Instruction i) => _probes[(int)i] != 0;

    /// <summary>Runs <paramref name="iterations"/> iterations of <see cref="Accumulators"/> instructions; returns the operations done.</summary>
    public double Run(Instruction i, long iterations)
    {
        if (!Has(i)) throw new InvalidOperationException($"this CPU has no {i} probe");
        DotArgs args = default;
        args.K = iterations;
        ((delegate* unmanaged[Cdecl]<DotArgs*, void>)_probes[(int)i])(&args);
        return (double)iterations * Accumulators * OpsPerInstruction(i);
    }

    public static PeakProbeKernels Create(CpuFeatures cpu, CodePlacer placer)
    {
        var lib = new KernelLibrary();
        var index = new int[3];
        index[0] = lib.End(Emit((a, acc) => a.vfmadd231ps(acc, Zmm(24), Zmm(25))));
        index[1] = cpu.CanRunBf16Kernels ? lib.End(Emit((a, acc) => a.vdpbf16ps(acc, Zmm(24), Zmm(25)))) : -1;
        index[2] = cpu.CanRunInt8Kernels ? lib.End(Emit((a, acc) => a.vpdpbusd(acc, Zmm(24), Zmm(25)))) : -1;
        var addresses = lib.Place(placer);
        return new PeakProbeKernels(index.Select(i => i < 0 ? 0 : addresses[i]).ToArray());
    }

    private static Assembler Emit(Action<Assembler, AssemblerRegisterZMM> instruction)
    {
        var a = KernelLibrary.Begin();
        a.mov(rcx, __qword_ptr[rdi + DotArgs.Offsets.K]);
        for (int i = 0; i < 26; i++) a.vpxord(Zmm(i), Zmm(i), Zmm(i));
        var loop = a.CreateLabel(); var done = a.CreateLabel();
        a.test(rcx, rcx);
        a.jz(done);
        a.Label(ref loop);
        for (int i = 0; i < Accumulators; i++) instruction(a, Zmm(i));
        a.dec(rcx);
        a.jnz(loop);
        a.Label(ref done);
        return a;
    }
}
