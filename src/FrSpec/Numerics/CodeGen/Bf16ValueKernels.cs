using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using static FrSpec.Numerics.CodeGen.Bf16DotKernels;

namespace FrSpec.Numerics.CodeGen;

/// <summary>
/// Generated vdpbf16ps kernels for attention's weighted values over a bf16 KV cache: acc[i] += Σ_j v_j · p_ij for M ≤ 4
/// query rows, where a step j is a pair of consecutive sequence positions: one value block [dims][2] (two slots'
/// values interleaved, as the cache stores a slot pair) and, per row, one dword holding the two positions'
/// probabilities as bf16 (each row's pairs contiguous: its probabilities rounded to bf16 in sequence order). One vdpbf16ps multiplies a value vector (16 dimensions × 2 positions) by a broadcast
/// probability pair and adds both products into 16 fp32 lanes.
///
/// Register blocking: up to 4 value vectors (64 dimensions; a last vector may be partial, masked) in zmm16–19, a
/// broadcast per row in zmm20–23, M·V ≤ 16 accumulators in zmm0–15. Accumulators are loaded from and stored to the
/// caller's fp32 rows (exact), so a sequence can be walked in any number of calls.
///
/// Batch invariance: every output lane is one chain of vdpbf16ps over the steps in order, whatever M, V, the slicing of
/// dimensions or the split of the steps into calls: a row's result depends only on its own (value, probability) pairs.
/// </summary>
internal sealed unsafe class Bf16ValueKernels
{
    public const int MaxVectors = 4, MaxRows = 4;

    /// <summary>Arguments; the offsets are part of the generated code.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Args
    {
        /// <summary>The first step's value block at the first dimension of the slice.</summary>
        public nint Values;
        /// <summary>Bytes from one step's value block to the next.</summary>
        public long ValueStride;
        /// <summary>Row 0's probability pair of the first step (the next step's at + 4).</summary>
        public nint Probs;
        /// <summary>Bytes from one row's probability pairs to the next row's.</summary>
        public long ProbRowStride;
        /// <summary>Row 0's accumulators (fp32) at the first dimension of the slice.</summary>
        public nint Acc;
        /// <summary>Bytes from one row's accumulators to the next.</summary>
        public long AccStride;
        /// <summary>Steps to walk.</summary>
        public long Steps;
        /// <summary>Dimensions in the last vector of a partial-tail kernel (1–15).</summary>
        public long TailDims;

        public static class Offsets
        {
            public const int Values = 0, ValueStride = 8, Probs = 16, ProbRowStride = 24, Acc = 32, AccStride = 40, Steps = 48, TailDims = 56;
        }
    }

    private readonly nint[] _kernels; // [((v-1) * MaxRows + (m-1)) * 2 + tail]

    private Bf16ValueKernels(nint[] kernels) { _kernels = kernels; }

    /// <summary>The kernel for <paramref name="vectors"/> value vectors (the last one partial when <paramref name="tail"/>)
    /// and <paramref name="rows"/> query rows.</summary>
    public delegate* unmanaged[Cdecl, SuppressGCTransition]<Args*, void> Kernel(int vectors, int rows, bool tail) =>
        (delegate* unmanaged[Cdecl, SuppressGCTransition]<Args*, void>)_kernels[((vectors - 1) * MaxRows + (rows - 1)) * 2 + (tail ? 1 : 0)];

    private static readonly Lazy<Bf16ValueKernels> s_machine = new(() => Create(ExecutableMemory.Place));

    /// <summary>This process's kernels, placed like the other generated kernels (call only where those exist).</summary>
    public static Bf16ValueKernels ForThisMachine => s_machine.Value;

    public static Bf16ValueKernels Create(CodePlacer placer)
    {
        var lib = new KernelLibrary();
        var index = new int[MaxVectors * MaxRows * 2];
        for (int v = 1; v <= MaxVectors; v++)
            for (int m = 1; m <= MaxRows; m++)
                for (int t = 0; t < 2; t++) index[((v - 1) * MaxRows + (m - 1)) * 2 + t] = lib.End(Emit(v, m, t == 1));
        var addresses = lib.Place(placer);
        var kernels = new nint[index.Length];
        for (int i = 0; i < index.Length; i++) kernels[i] = addresses[index[i]];
        return new Bf16ValueKernels(kernels);
    }

    private static AssemblerRegisterZMM Acc(int i, int v) => Zmm(i * MaxVectors + v);
    private static AssemblerRegisterZMM Value(int v) => Zmm(16 + v);
    private static AssemblerRegisterZMM Broadcast(int i) => Zmm(20 + i);

    // GPRs: rdi args; r8 values; r9 value stride; rax, rdx, rsi, rbp the rows' probabilities, r12 the step's offset into
    // them; r14 accumulators; r13 accumulator stride; rcx steps left; rbx accumulator row pointer; r10, r11 scratch.
    // k1: the tail's words, k2: its floats.
    private static readonly AssemblerRegister64[] ProbRow = [rax, rdx, rsi, rbp];

    private static Assembler Emit(int vectors, int rows, bool tail)
    {
        var a = KernelLibrary.Begin();
        a.mov(r8, __qword_ptr[rdi + Args.Offsets.Values]);
        a.mov(r9, __qword_ptr[rdi + Args.Offsets.ValueStride]);
        a.mov(rax, __qword_ptr[rdi + Args.Offsets.Probs]);
        a.mov(r10, __qword_ptr[rdi + Args.Offsets.ProbRowStride]);
        for (int i = 1; i < rows; i++) a.lea(ProbRow[i], __[ProbRow[i - 1] + r10]);
        a.xor(r12d, r12d);
        a.mov(r14, __qword_ptr[rdi + Args.Offsets.Acc]);
        a.mov(r13, __qword_ptr[rdi + Args.Offsets.AccStride]);
        a.mov(rcx, __qword_ptr[rdi + Args.Offsets.Steps]);
        if (tail)
        {
            a.mov(r10, __qword_ptr[rdi + Args.Offsets.TailDims]);
            a.mov(r11d, -1);
            a.bzhi(r11d, r11d, r10d);
            a.kmovd(k2, r11d);
            a.add(r10, r10);
            a.mov(r11d, -1);
            a.bzhi(r11d, r11d, r10d);
            a.kmovd(k1, r11d);
        }
        bool Partial(int v) => tail && v == vectors - 1;

        a.mov(rbx, r14);
        for (int i = 0; i < rows; i++)
        {
            for (int v = 0; v < vectors; v++)
                if (Partial(v)) a.vmovups(Acc(i, v).k2.z, __zmmword_ptr[rbx + 64 * v]);
                else a.vmovups(Acc(i, v), __zmmword_ptr[rbx + 64 * v]);
            if (i + 1 < rows) a.add(rbx, r13);
        }
        var loop = a.CreateLabel(); var store = a.CreateLabel();
        a.test(rcx, rcx);
        a.jz(store);
        a.Label(ref loop);
        for (int v = 0; v < vectors; v++)
            if (Partial(v)) a.vmovdqu16(Value(v).k1.z, __zmmword_ptr[r8 + 64 * v]);
            else a.vmovdqu16(Value(v), __zmmword_ptr[r8 + 64 * v]);
        for (int i = 0; i < rows; i++)
        {
            a.vpbroadcastd(Broadcast(i), __dword_ptr[ProbRow[i] + r12]);
            for (int v = 0; v < vectors; v++) a.vdpbf16ps(Acc(i, v), Value(v), Broadcast(i));
        }
        a.add(r8, r9);
        a.add(r12, 4);
        a.dec(rcx);
        a.jnz(loop);

        a.Label(ref store);
        a.mov(rbx, r14);
        for (int i = 0; i < rows; i++)
        {
            for (int v = 0; v < vectors; v++)
                if (Partial(v)) a.vmovups(__zmmword_ptr[rbx + 64 * v].k2, Acc(i, v));
                else a.vmovups(__zmmword_ptr[rbx + 64 * v], Acc(i, v));
            if (i + 1 < rows) a.add(rbx, r13);
        }
        return a;
    }
}
