using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using static FrSpec.Numerics.CodeGen.Bf16DotKernels;

namespace FrSpec.Numerics.CodeGen;

/// <summary>
/// Generated vdpbf16ps kernels for bf16 weights packed into panels (<see cref="Bf16Panels"/>): one panel of 16·V rows
/// (V ≤ 2 vectors) against M ≤ 12 activation rows, over a range of K steps (one step = one column pair).
///
/// Register blocking: each step loads the panel's V weight vectors (16 rows × 1 column pair each, 64 contiguous bytes)
/// into zmm24–25, then for each activation row broadcasts its column pair (vpbroadcastd into zmm26–31 in turn) and
/// issues V vdpbf16ps into that row's accumulators: M·V ≤ 24 accumulators (zmm0–23), each holding 16 output rows, so
/// nothing is summed across lanes. A step costs V + M loads for M·V dot products (14 for 24 at 12 × 2), and up to 24
/// independent accumulators cover the instruction's latency at one per cycle. Panels of 32 rows let up to 12 rows (a
/// verification tree of 8–12 tokens) share one pass over the weights, a single sequential stream like decoding;
/// decoding (M = 1) keeps 2 accumulators in flight, which still computes several times faster than DRAM delivers.
///
/// K is walked in whatever ranges the caller chooses: the accumulators start from zero or are loaded from Y, and are
/// stored back to Y, so a long K can be split into cache-sized chunks. Every output is one accumulator lane that adds
/// the same column pairs in the same order whatever M, V and the chunking are, and fp32 stores and loads are exact:
/// a row's result is the same bits alone or in any batch (batch invariance).
///
/// Prefetching: with a non-zero <see cref="DotArgs.Prefetch"/> (an address), each step also prefetches L lines from
/// there (L fixed per kernel), advancing L·64 bytes per step. The driver points it ahead in the same stream, or — when
/// several blocks of rows pass over a chunk — at a share of the next chunk, so that memory keeps streaming at an even
/// pace while the later passes compute out of L2.
/// </summary>
internal sealed unsafe class Bf16PanelKernels
{
    public const int MaxVectors = 2, MaxActs = 12, MaxPrefetchLines = 2;

    /// <summary>Prefetch instruction: 0 = prefetcht0, 1 = prefetcht1, 2 = prefetcht2 (a tuning knob, read when generating).</summary>
    internal static int PrefetchHint = 1;

    private readonly nint[] _kernels; // [((v-1) * MaxActs + (m-1)) * MaxPrefetchLines + (l-1)]

    private Bf16PanelKernels(nint[] kernels) { _kernels = kernels; }

    /// <summary>The kernel for a panel of 16·<paramref name="vectors"/> rows, <paramref name="acts"/> activation rows and
    /// <paramref name="prefetchLines"/> lines prefetched per step. Arguments (<see cref="DotArgs"/>): W the panel at the
    /// first step; X the packed activations of the block (its rows' column pairs, step after step) at the first step;
    /// XStride bytes per step of X; Y, YStride the outputs of the first row (16·V floats per row); K the steps to walk;
    /// Rows 0 = start from zero, 1 = add to Y; Prefetch the first address to prefetch, or 0.</summary>
    public delegate* unmanaged[Cdecl, SuppressGCTransition]<DotArgs*, void> Kernel(int vectors, int acts, int prefetchLines = 1) =>
        (delegate* unmanaged[Cdecl, SuppressGCTransition]<DotArgs*, void>)_kernels[((vectors - 1) * MaxActs + (acts - 1)) * MaxPrefetchLines + (prefetchLines - 1)];

    public static Bf16PanelKernels Create(CodePlacer placer)
    {
        var lib = new KernelLibrary();
        var index = new int[MaxVectors * MaxActs * MaxPrefetchLines];
        for (int v = 1; v <= MaxVectors; v++)
            for (int m = 1; m <= MaxActs; m++)
                for (int l = 1; l <= MaxPrefetchLines; l++)
                    index[((v - 1) * MaxActs + (m - 1)) * MaxPrefetchLines + (l - 1)] = lib.End(Emit(v, m, l));
        var addresses = lib.Place(placer);
        return new Bf16PanelKernels(index.Select(i => addresses[i]).ToArray());
    }

    private static AssemblerRegisterZMM Acc(int i, int v) => Zmm(i * MaxVectors + v);
    private static AssemblerRegisterZMM Weights(int v) => Zmm(24 + v);
    private static AssemblerRegisterZMM Broadcast(int i) => Zmm(26 + i % 6);

    // GPRs: rdi args; r8 weights; rax activations; r15 activation step; rcx steps left; r12 prefetch pointer;
    // r14 Y, r13 Y row stride, rbx Y row pointer.
    private static Assembler Emit(int vectors, int acts, int prefetchLines)
    {
        var a = KernelLibrary.Begin();
        a.mov(r8, __qword_ptr[rdi + DotArgs.Offsets.W]);
        a.mov(rax, __qword_ptr[rdi + DotArgs.Offsets.X]);
        a.mov(r15, __qword_ptr[rdi + DotArgs.Offsets.XStride]);
        a.mov(r14, __qword_ptr[rdi + DotArgs.Offsets.Y]);
        a.mov(r13, __qword_ptr[rdi + DotArgs.Offsets.YStride]);
        a.mov(rcx, __qword_ptr[rdi + DotArgs.Offsets.K]);
        a.mov(r12, __qword_ptr[rdi + DotArgs.Offsets.Prefetch]);

        var zero = a.CreateLabel(); var start = a.CreateLabel(); var loop = a.CreateLabel(); var plain = a.CreateLabel(); var store = a.CreateLabel();
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
        Step(a, vectors, acts, prefetchLines);
        a.jnz(loop);
        a.jmp(store);
        a.Label(ref plain);
        Step(a, vectors, acts, 0);
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
    private static void Step(Assembler a, int vectors, int acts, int prefetchLines)
    {
        for (int v = 0; v < vectors; v++) a.vmovups(Weights(v), __zmmword_ptr[r8 + 64 * v]);
        for (int l = 0; l < prefetchLines; l++)
        {
            var at = __[r12 + 64 * l];
            if (PrefetchHint == 1) a.prefetcht1(at);
            else if (PrefetchHint == 2) a.prefetcht2(at);
            else a.prefetcht0(at);
        }
        for (int i = 0; i < acts; i++)
        {
            a.vpbroadcastd(Broadcast(i), __dword_ptr[rax + 4 * i]);
            for (int v = 0; v < vectors; v++) a.vdpbf16ps(Acc(i, v), Weights(v), Broadcast(i));
        }
        a.add(r8, 64 * vectors);
        if (prefetchLines > 0) a.add(r12, 64 * prefetchLines);
        a.add(rax, r15);
        a.dec(rcx);
    }
}
