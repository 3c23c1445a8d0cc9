using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace FrSpec.Numerics.CodeGen;

/// <summary>
/// Generated vdpbf16ps kernels: bf16 weight rows × bf16 activation rows, fp32 results, reading row-major weights in
/// place (memory-mapped or huge-page copies alike). One vdpbf16ps multiplies 32 bf16 pairs and adds them into 16 fp32
/// lanes, so every (activation row, weight row) pair owns one zmm accumulator that walks K in steps of 32 (a masked
/// step for the tail), and is summed across its lanes at the end.
///
/// Register blocking: a tile of R ≤ 4 weight rows × M ≤ 6 activation rows holds R·M ≤ 24 accumulators (zmm0–23) and
/// the R weight vectors (zmm24–27); each step loads R weight vectors and M activation vectors (zmm28–31 in turn), so
/// it issues R + M loads for R·M dot-product instructions (10 loads per 24 at 4×6), well within Zen 4's one 512-bit
/// load per cycle, while 24 independent accumulators hide the instruction's latency. Operands are loaded into
/// registers first: vdpbf16ps with a memory operand ran at ~60% of its register-form throughput on Zen 4.
///
/// Batch invariance: every kernel here — the 1..4 × 1..6 tiles and the row-looping GEMV used for decoding — runs the
/// same instruction sequence on each accumulator (same K steps, same masked tail, same reduction tree), so a row's
/// result does not depend on how many rows share its tile.
/// </summary>
internal sealed unsafe class Bf16DotKernels
{
    public const int MaxR = 4, MaxM = 6;

    private readonly nint[] _tiles; // [(r-1) * MaxM + (m-1)]
    private readonly nint _gemv;

    private Bf16DotKernels(nint[] tiles, nint gemv) { _tiles = tiles; _gemv = gemv; }

    /// <summary>Tile kernel for r weight rows × m activation rows.</summary>
    public delegate* unmanaged[Cdecl, SuppressGCTransition]<DotArgs*, void> Tile(int r, int m) =>
        (delegate* unmanaged[Cdecl, SuppressGCTransition]<DotArgs*, void>)_tiles[(r - 1) * MaxM + (m - 1)];

    /// <summary>One activation row against <see cref="DotArgs.Rows"/> weight rows, one row after another (decode).
    /// Long-running, so it keeps the GC transition.</summary>
    public delegate* unmanaged[Cdecl]<DotArgs*, void> Gemv => (delegate* unmanaged[Cdecl]<DotArgs*, void>)_gemv;

    public static Bf16DotKernels Create(CodePlacer placer)
    {
        var lib = new KernelLibrary();
        var tileIndex = new int[MaxR * MaxM];
        for (int r = 1; r <= MaxR; r++)
            for (int m = 1; m <= MaxM; m++) tileIndex[(r - 1) * MaxM + (m - 1)] = lib.End(EmitTile(r, m));
        int gemv = lib.End(EmitGemv());
        var addresses = lib.Place(placer);
        return new Bf16DotKernels(tileIndex.Select(i => addresses[i]).ToArray(), addresses[gemv]);
    }

    private static readonly AssemblerRegister64[] WeightRow = [r8, r9, r10, r11];
    private static readonly AssemblerRegister64[] ActRow = [rax, rbx, rcx, rbp, r12, r13];
    private static AssemblerRegisterZMM Acc(int i, int j) => Zmm(i * MaxR + j);
    private static AssemblerRegisterZMM WVec(int j) => Zmm(24 + j);

    internal static AssemblerRegisterZMM Zmm(int n) => new(Register.ZMM0 + n);
    internal static AssemblerRegisterYMM Ymm(int n) => new(Register.YMM0 + n);
    internal static AssemblerRegisterXMM Xmm(int n) => new(Register.XMM0 + n);

    // Registers: rdi args; rsi byte offset into every row; rdx bytes of full 32-element steps; r14 tail elements,
    // then scratch; r15 scratch; k1 tail mask.
    private static Assembler EmitTile(int rows, int acts)
    {
        var a = KernelLibrary.Begin();
        a.mov(r8, __qword_ptr[rdi + DotArgs.Offsets.W]);
        a.mov(r14, __qword_ptr[rdi + DotArgs.Offsets.WStride]);
        for (int j = 1; j < rows; j++) a.lea(WeightRow[j], __[WeightRow[j - 1] + r14]);
        a.mov(rax, __qword_ptr[rdi + DotArgs.Offsets.X]);
        a.mov(r15, __qword_ptr[rdi + DotArgs.Offsets.XStride]);
        for (int i = 1; i < acts; i++) a.lea(ActRow[i], __[ActRow[i - 1] + r15]);
        StepBounds(a);
        for (int i = 0; i < acts; i++)
            for (int j = 0; j < rows; j++) a.vpxord(Acc(i, j), Acc(i, j), Acc(i, j));

        var loop = a.CreateLabel(); var tail = a.CreateLabel(); var reduce = a.CreateLabel();
        a.xor(esi, esi);
        a.mov(r15, __qword_ptr[rdi + DotArgs.Offsets.Prefetch]);
        a.cmp(rsi, rdx);
        a.jae(tail);
        a.Label(ref loop);
        for (int j = 0; j < rows; j++) a.vmovdqu16(WVec(j), __zmmword_ptr[WeightRow[j] + rsi]);
        for (int j = 0; j < rows; j++) a.prefetcht0(__[WeightRow[j] + r15]);
        for (int i = 0; i < acts; i++)
        {
            // a register operand, not vdpbf16ps's memory form: on Zen 4 the memory form ran at ~60% of peak
            var xv = Zmm(28 + (i & 3));
            a.vmovdqu16(xv, __zmmword_ptr[ActRow[i] + rsi]);
            for (int j = 0; j < rows; j++) a.vdpbf16ps(Acc(i, j), WVec(j), xv);
        }
        a.add(rsi, 64);
        a.add(r15, 64);
        a.cmp(rsi, rdx);
        a.jb(loop);

        a.Label(ref tail);
        a.test(r14, r14);
        a.jz(reduce);
        for (int j = 0; j < rows; j++) a.vmovdqu16(WVec(j).k1.z, __zmmword_ptr[WeightRow[j] + rsi]);
        for (int i = 0; i < acts; i++)
        {
            a.vmovdqu16(Zmm(28).k1.z, __zmmword_ptr[ActRow[i] + rsi]);
            for (int j = 0; j < rows; j++) a.vdpbf16ps(Acc(i, j), WVec(j), Zmm(28));
        }

        a.Label(ref reduce);
        a.mov(r14, __qword_ptr[rdi + DotArgs.Offsets.Y]);
        a.mov(r15, __qword_ptr[rdi + DotArgs.Offsets.YStride]);
        for (int i = 0; i < acts; i++)
        {
            for (int j = 0; j < rows; j++)
            {
                ReduceLanes(a, Acc(i, j).Number());
                a.vmovss(__dword_ptr[r14 + 4 * j], Xmm(Acc(i, j).Number()));
            }
            if (i + 1 < acts) a.add(r14, r15);
        }
        return a;
    }

    // rdx = bytes of the full 32-element steps, r14 = elements left for the masked tail step, k1 = their mask.
    private static void StepBounds(Assembler a)
    {
        a.mov(rdx, __qword_ptr[rdi + DotArgs.Offsets.K]);
        a.mov(r14, rdx);
        a.and(r14, 31);
        a.shr(rdx, 5);
        a.shl(rdx, 6);
        a.mov(r15d, -1);
        a.bzhi(r15d, r15d, r14d);
        a.kmovd(k1, r15d);
    }

    // r8 weight row, r9 weight stride, rax activation row, r10 rows left, r11 output.
    private static Assembler EmitGemv()
    {
        var a = KernelLibrary.Begin();
        a.mov(r8, __qword_ptr[rdi + DotArgs.Offsets.W]);
        a.mov(r9, __qword_ptr[rdi + DotArgs.Offsets.WStride]);
        a.mov(rax, __qword_ptr[rdi + DotArgs.Offsets.X]);
        a.mov(r10, __qword_ptr[rdi + DotArgs.Offsets.Rows]);
        a.mov(r11, __qword_ptr[rdi + DotArgs.Offsets.Y]);
        StepBounds(a);
        var rowLoop = a.CreateLabel(); var loop = a.CreateLabel(); var tail = a.CreateLabel(); var reduce = a.CreateLabel(); var done = a.CreateLabel();
        a.test(r10, r10);
        a.jz(done);
        a.Label(ref rowLoop);
        var acc = Acc(0, 0);
        a.vpxord(acc, acc, acc);
        a.xor(esi, esi);
        a.cmp(rsi, rdx);
        a.jae(tail);
        a.Label(ref loop);
        a.vmovdqu16(WVec(0), __zmmword_ptr[r8 + rsi]);
        a.vmovdqu16(Zmm(28), __zmmword_ptr[rax + rsi]);
        a.vdpbf16ps(acc, WVec(0), Zmm(28));
        a.add(rsi, 64);
        a.cmp(rsi, rdx);
        a.jb(loop);
        a.Label(ref tail);
        a.test(r14, r14);
        a.jz(reduce);
        a.vmovdqu16(WVec(0).k1.z, __zmmword_ptr[r8 + rsi]);
        a.vmovdqu16(Zmm(28).k1.z, __zmmword_ptr[rax + rsi]);
        a.vdpbf16ps(acc, WVec(0), Zmm(28));
        a.Label(ref reduce);
        ReduceLanes(a, acc.Number());
        a.vmovss(__dword_ptr[r11], Xmm(acc.Number()));
        a.add(r11, 4);
        a.add(r8, r9);
        a.dec(r10);
        a.jnz(rowLoop);
        a.Label(ref done);
        return a;
    }

    /// <summary>Sums the 16 fp32 lanes of zmm<paramref name="n"/> into its lane 0 with a fixed tree (halves, then
    /// quarters, ...), using zmm28 as scratch. Every kernel uses this same tree, which keeps results batch-invariant.</summary>
    internal static void ReduceLanes(Assembler a, int n)
    {
        a.vextractf64x4(Ymm(28), Zmm(n), 1);
        a.vaddps(Ymm(n), Ymm(n), Ymm(28));
        a.vextractf32x4(Xmm(28), Ymm(n), 1);
        a.vaddps(Xmm(n), Xmm(n), Xmm(28));
        a.vpermilps(Xmm(28), Xmm(n), 0x0E);
        a.vaddps(Xmm(n), Xmm(n), Xmm(28));
        a.vpermilps(Xmm(28), Xmm(n), 0x01);
        a.vaddss(Xmm(n), Xmm(n), Xmm(28));
    }
}

internal static class RegisterNumber
{
    public static int Number(this AssemblerRegisterZMM r) => (int)(r.Value - Register.ZMM0);
}
