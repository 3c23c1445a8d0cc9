using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using static FrSpec.Numerics.CodeGen.Bf16DotKernels;

namespace FrSpec.Numerics.CodeGen;

/// <summary>
/// Generated vpdpbusd kernels: Q8_0 weight rows (in place, 34-byte blocks) × int8-quantized activation rows.
/// vpdpbusd multiplies unsigned by signed bytes, so activations are stored as q + 128 and the kernel subtracts
/// 128·Σw per block (a second vpdpbusd of the constant 128 against the same weights): the sign trick that keeps
/// signed × signed products exact.
///
/// Register blocking: a tile is 8 (weight row, activation row) pairs, 4 rows × 2 activations for batches or 8 rows × 1
/// for decoding. Per 32-weight block each pair's vpdpbusd leaves 8 partial sums in a ymm; a vphaddd tree transposes
/// the 8 pairs' vectors into one ymm holding one exact block sum per pair, which is converted and scaled by the
/// pair's dw·dx and added into that pair's lane of a single fp32 accumulator. Each pair therefore computes
/// acc = fma((float)Σ_block, dw·dx, acc) block after block, exactly what the managed and portable kernels compute, so
/// every int8 path gives the same bits, and no result depends on the tile it was computed in.
/// The per-block scale handling costs about as much as the dot products, which bounds this row-major form at a
/// fraction of the vpdpbusd peak (see docs/performance.md).
/// </summary>
internal sealed unsafe class Int8DotKernels
{
    /// <summary>Pairs per tile (lanes of the fp32 accumulator).</summary>
    public const int Pairs = 8;

    private readonly nint _rows4acts2, _rows8acts1;

    private Int8DotKernels(nint a, nint b) { _rows4acts2 = a; _rows8acts1 = b; }

    /// <summary>4 weight rows × 2 activation rows (or, with <paramref name="acts"/> = 1, 8 rows × 1). Writes 8 floats to
    /// Y: pair p = i·R + r.</summary>
    public delegate* unmanaged[Cdecl, SuppressGCTransition]<DotArgs*, void> Tile(int acts) =>
        (delegate* unmanaged[Cdecl, SuppressGCTransition]<DotArgs*, void>)(acts == 2 ? _rows4acts2 : _rows8acts1);

    public static Int8DotKernels Create(CodePlacer placer)
    {
        var lib = new KernelLibrary();
        int a = lib.End(Emit(4, 2)), b = lib.End(Emit(8, 1));
        var addresses = lib.Place(placer);
        return new Int8DotKernels(addresses[a], addresses[b]);
    }

    // Arguments: W row 0 and WStride; X activation row 0 (bytes q + 128) and XStride; XScales: fp32 dx per block of
    // activation row 0, and of row 1 at XScales + Rows bytes; K weights per row; Y: 8 floats.
    // GPRs: rdi args; rsi byte offset of the block in the weight rows (34 per block); r8–r15 weight rows;
    // rax, rbx activation rows and rbp, rdx their dx, all advanced per block; rcx blocks left.
    private static Assembler Emit(int rows, int acts)
    {
        var a = KernelLibrary.Begin();
        AssemblerRegister64[] w = [r8, r9, r10, r11, r12, r13, r14, r15];
        a.mov(r8, __qword_ptr[rdi + DotArgs.Offsets.W]);
        a.mov(rcx, __qword_ptr[rdi + DotArgs.Offsets.WStride]);
        for (int r = 1; r < rows; r++) a.lea(w[r], __[w[r - 1] + rcx]);
        a.mov(rax, __qword_ptr[rdi + DotArgs.Offsets.X]);
        a.mov(rbp, __qword_ptr[rdi + DotArgs.Offsets.XScales]);
        a.mov(rcx, __qword_ptr[rdi + DotArgs.Offsets.K]);
        a.shr(rcx, 5);
        if (acts == 2)
        {
            a.mov(rbx, rax);
            a.add(rbx, __qword_ptr[rdi + DotArgs.Offsets.XStride]);
            a.mov(rdx, rbp);
            a.add(rdx, __qword_ptr[rdi + DotArgs.Offsets.Rows]);
        }
        a.xor(esi, esi);
        var acc = Ymm(30);
        a.vpxord(acc, acc, acc);
        a.push(rax);
        a.mov(eax, unchecked((int)0x80808080));
        a.vpbroadcastd(Ymm(26), eax);                 // 128 in every byte: the correction's unsigned operand
        a.pop(rax);

        var loop = a.CreateLabel(); var done = a.CreateLabel();
        a.test(rcx, rcx);
        a.jz(done);
        a.Label(ref loop);
        for (int r = 0; r < rows; r++) a.vmovdqu8(Ymm(16 + r), __ymmword_ptr[w[r] + rsi + 2]);
        a.vmovdqu8(Ymm(14), __ymmword_ptr[rax]);
        if (acts == 2) a.vmovdqu8(Ymm(15), __ymmword_ptr[rbx]);
        for (int p = 0; p < Pairs; p++)
        {
            int r = p % rows, i = p / rows;
            var t = Ymm(p);
            a.vpxor(t, t, t);
            a.vpdpbusd(t, Ymm(14 + i), Ymm(16 + r));
            a.vpxord(Ymm(24), Ymm(24), Ymm(24));
            a.vpdpbusd(Ymm(24), Ymm(26), Ymm(16 + r));
            a.vpsubd(t, t, Ymm(24));
        }
        // transpose-reduce ymm0..7 (8 partial sums each) into ymm12: lane p = pair p's block sum
        a.vphaddd(ymm8, ymm0, ymm1); a.vphaddd(ymm9, ymm2, ymm3); a.vphaddd(ymm10, ymm4, ymm5); a.vphaddd(ymm11, ymm6, ymm7);
        a.vphaddd(ymm8, ymm8, ymm9); a.vphaddd(ymm10, ymm10, ymm11);
        a.vperm2i128(ymm12, ymm8, ymm10, 0x20);
        a.vperm2i128(ymm13, ymm8, ymm10, 0x31);
        a.vpaddd(ymm12, ymm12, ymm13);
        a.vcvtdq2ps(ymm12, ymm12);
        // dw of each pair's row (the f16 in front of the block), times dx of each pair's activation row
        var dw = Xmm(27);
        a.vpxord(dw, dw, dw);
        for (int p = 0; p < Pairs; p++) a.vpinsrw(dw, dw, __word_ptr[w[p % rows] + rsi], (byte)p);
        a.vcvtph2ps(Ymm(27), dw);
        if (acts == 1) a.vbroadcastss(Ymm(28), __dword_ptr[rbp]);
        else
        {
            a.vbroadcastss(Xmm(28), __dword_ptr[rbp]);
            a.vbroadcastss(Xmm(29), __dword_ptr[rdx]);
            a.vinsertf32x4(Ymm(28), Ymm(28), Xmm(29), 1);
            a.add(rbx, 32);
            a.add(rdx, 4);
        }
        a.vmulps(Ymm(27), Ymm(27), Ymm(28));
        a.vfmadd231ps(acc, ymm12, Ymm(27));
        a.add(rsi, 34);
        a.add(rax, 32);
        a.add(rbp, 4);
        a.dec(rcx);
        a.jnz(loop);
        a.Label(ref done);
        a.mov(rax, __qword_ptr[rdi + DotArgs.Offsets.Y]);
        a.vmovups(__ymmword_ptr[rax], acc);
        return a;
    }
}
