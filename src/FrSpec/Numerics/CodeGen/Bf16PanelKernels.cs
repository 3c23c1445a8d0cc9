using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using static FrSpec.Numerics.CodeGen.Bf16DotKernels;

namespace FrSpec.Numerics.CodeGen;

/// <summary>
/// Generated vdpbf16ps kernels for bf16 weights packed into panels (<see cref="Bf16Panels"/>): one panel of 16·V rows
/// (V ≤ 4 vectors) against M ≤ 6 activation rows, over a range of K steps (one step = one column pair).
///
/// Register blocking: each step loads the panel's V weight vectors (16 rows × 1 column pair each, 64 contiguous bytes)
/// into zmm24–27, then for each activation row broadcasts its column pair (vpbroadcastd into zmm28–31 in turn) and
/// issues V vdpbf16ps into that row's accumulators: M·V ≤ 24 accumulators (zmm0–23), each holding 16 output rows, so
/// there is nothing to sum across lanes at the end. A step costs V + M loads for M·V dot products (10 for 24 at
/// 6 × 4), and 24 independent accumulators cover the instruction's latency at one per cycle. Decoding (M = 1) reads
/// the panel as one sequential stream with 4 accumulators in flight, which is far more than DRAM can feed.
///
/// K is walked in whatever ranges the caller chooses: the accumulators start from zero or are loaded from Y, and are
/// stored back to Y, so a long K can be split into cache-sized chunks. Every output is one accumulator lane that adds
/// the same column pairs in the same order whatever M, V and the chunking are, and fp32 stores and loads are exact:
/// a row's result is the same bits alone or in any batch (batch invariance).
/// </summary>
internal sealed unsafe class Bf16PanelKernels
{
    public const int MaxVectors = 4, MaxActs = 6;

    private readonly nint[] _kernels; // [(v-1) * MaxActs + (m-1)]

    private Bf16PanelKernels(nint[] kernels) { _kernels = kernels; }

    /// <summary>The kernel for a panel of 16·<paramref name="vectors"/> rows and <paramref name="acts"/> activation rows.
    /// Arguments (<see cref="DotArgs"/>): W the panel at the first step; X the packed activations (column pairs of all
    /// rows, step after step) at the first step and row; XStride bytes per step of X; Y, YStride the outputs of the first
    /// row (16·V floats per row); K the steps to walk; Rows 0 = start from zero, 1 = add to Y; Prefetch the distance in
    /// bytes ahead of W to prefetch into L1 (0: none).</summary>
    public delegate* unmanaged[Cdecl, SuppressGCTransition]<DotArgs*, void> Kernel(int vectors, int acts) =>
        (delegate* unmanaged[Cdecl, SuppressGCTransition]<DotArgs*, void>)_kernels[(vectors - 1) * MaxActs + (acts - 1)];

    /// <summary>Prefetch instruction the kernels use: 0 = prefetcht0, 1 = prefetcht1, 2 = prefetcht2 (tuning).</summary>
    internal static int PrefetchHint = 0;

    public static Bf16PanelKernels Create(CodePlacer placer)
    {
        var lib = new KernelLibrary();
        var index = new int[MaxVectors * MaxActs];
        for (int v = 1; v <= MaxVectors; v++)
            for (int m = 1; m <= MaxActs; m++) index[(v - 1) * MaxActs + (m - 1)] = lib.End(Emit(v, m));
        var addresses = lib.Place(placer);
        return new Bf16PanelKernels(index.Select(i => addresses[i]).ToArray());
    }

    private static AssemblerRegisterZMM Acc(int i, int v) => Zmm(i * MaxVectors + v);
    private static AssemblerRegisterZMM Weights(int v) => Zmm(24 + v);

    // GPRs: rdi args; r8 weights; rax activations; r15 activation step; rcx steps left; r12 prefetch distance;
    // r14 Y, r13 Y row stride, rbx Y row pointer.
    private static Assembler Emit(int vectors, int acts)
    {
        var a = KernelLibrary.Begin();
        a.mov(r8, __qword_ptr[rdi + DotArgs.Offsets.W]);
        a.mov(rax, __qword_ptr[rdi + DotArgs.Offsets.X]);
        a.mov(r15, __qword_ptr[rdi + DotArgs.Offsets.XStride]);
        a.mov(r14, __qword_ptr[rdi + DotArgs.Offsets.Y]);
        a.mov(r13, __qword_ptr[rdi + DotArgs.Offsets.YStride]);
        a.mov(rcx, __qword_ptr[rdi + DotArgs.Offsets.K]);
        a.mov(r12, __qword_ptr[rdi + DotArgs.Offsets.Prefetch]);

        var zero = a.CreateLabel(); var start = a.CreateLabel(); var loop = a.CreateLabel(); var store = a.CreateLabel();
        var plain = a.CreateLabel();
        a.cmp(__qword_ptr[rdi + DotArgs.Offsets.Rows], 0);
        a.je(zero);
        a.mov(rbx, r14);
        for (int i = 0; i < acts; i++)
        {
            for (int v = 0; v < vectors; v++) a.vmovups(Acc(i, v), __zmmword_ptr[rbx + 64 * v]);
            if (i + 1 < acts) a.add(rbx, r13);
        }
        a.jmp(start);
        a.Label(ref zero);
        for (int i = 0; i < acts; i++)
            for (int v = 0; v < vectors; v++) a.vpxord(Acc(i, v), Acc(i, v), Acc(i, v));
        a.Label(ref start);
        a.test(rcx, rcx);
        a.jz(store);
        a.test(r12, r12);
        a.jz(plain);

        // two copies of the loop, with and without prefetching, so neither pays for the other
        a.Label(ref loop);
        Step(a, vectors, acts, prefetch: true);
        a.jnz(loop);
        a.jmp(store);
        a.Label(ref plain);
        Step(a, vectors, acts, prefetch: false);
        a.jnz(plain);

        a.Label(ref store);
        a.mov(rbx, r14);
        for (int i = 0; i < acts; i++)
        {
            for (int v = 0; v < vectors; v++) a.vmovups(__zmmword_ptr[rbx + 64 * v], Acc(i, v));
            if (i + 1 < acts) a.add(rbx, r13);
        }
        return a;
    }

    // One K step; ends with the flags of "steps left" for the loop's jnz.
    private static void Step(Assembler a, int vectors, int acts, bool prefetch)
    {
        for (int v = 0; v < vectors; v++) a.vmovups(Weights(v), __zmmword_ptr[r8 + 64 * v]);
        if (prefetch)
            for (int v = 0; v < vectors; v++)
            {
                var at = __[r8 + r12 + 64 * v];
                if (PrefetchHint == 1) a.prefetcht1(at);
                else if (PrefetchHint == 2) a.prefetcht2(at);
                else a.prefetcht0(at);
            }
        for (int i = 0; i < acts; i++)
        {
            var b = Zmm(28 + (i & 3));
            a.vpbroadcastd(b, __dword_ptr[rax + 4 * i]);
            for (int v = 0; v < vectors; v++) a.vdpbf16ps(Acc(i, v), Weights(v), b);
        }
        a.add(r8, 64 * vectors);
        a.add(rax, r15);
        a.dec(rcx);
    }
}
