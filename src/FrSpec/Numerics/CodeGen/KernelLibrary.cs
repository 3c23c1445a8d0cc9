using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace FrSpec.Numerics.CodeGen;

/// <summary>
/// Collects generated functions into one block of code that is placed in executable memory at once. Each function is
/// assembled on its own at address 0: the kernels use only relative jumps inside themselves and no RIP-relative data,
/// so their bytes do not depend on where they end up.
/// </summary>
internal sealed class KernelLibrary
{
    private const int Alignment = 64;
    private readonly List<byte[]> _functions = new();

    /// <summary>A new function body with the common prologue already emitted (argument pointer in rdi).</summary>
    public static Assembler Begin()
    {
        // EVEX everywhere: the kernels use zmm16–31, which VEX cannot encode
        var a = new Assembler(64) { PreferVex = false };
        Abi.Prologue(a);
        return a;
    }

    /// <summary>Emits the epilogue, encodes the function and returns its index.</summary>
    public int End(Assembler a)
    {
        Abi.Epilogue(a);
        var writer = new ByteWriter();
        a.Assemble(writer, 0);
        _functions.Add(writer.Bytes.ToArray());
        return _functions.Count - 1;
    }

    /// <summary>Places every function and returns their entry addresses, by index.</summary>
    public nint[] Place(CodePlacer placer)
    {
        var offsets = new int[_functions.Count];
        int size = 0;
        for (int i = 0; i < _functions.Count; i++)
        {
            offsets[i] = size;
            size = (size + _functions[i].Length + Alignment - 1) / Alignment * Alignment;
        }
        var code = new byte[size];
        code.AsSpan().Fill(0xCC); // int3 between functions
        for (int i = 0; i < _functions.Count; i++) _functions[i].CopyTo(code, offsets[i]);
        nint baseAddress = placer(code);
        return offsets.Select(o => baseAddress + o).ToArray();
    }

    private sealed class ByteWriter : CodeWriter
    {
        public readonly List<byte> Bytes = new();
        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}

/// <summary>
/// The calling convention of every generated kernel: one argument, a pointer to its argument struct, which the
/// prologue leaves in rdi on both ABIs. The prologue saves every register the kernels may touch that the caller
/// expects preserved: rbx, rbp, r12–r15 (System V and Windows), plus rsi, rdi and xmm6–xmm15 on Windows.
/// </summary>
internal static class Abi
{
    private static readonly bool Windows = OperatingSystem.IsWindows();
    private const int XmmSave = 10 * 16;

    public static void Prologue(Assembler a)
    {
        a.push(rbx); a.push(rbp); a.push(r12); a.push(r13); a.push(r14); a.push(r15);
        if (Windows)
        {
            a.push(rsi); a.push(rdi);
            a.sub(rsp, XmmSave);
            var saved = new[] { xmm6, xmm7, xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14, xmm15 };
            for (int i = 0; i < saved.Length; i++) a.vmovdqu(__xmmword_ptr[rsp + 16 * i], saved[i]);
            a.mov(rdi, rcx);
        }
    }

    public static void Epilogue(Assembler a)
    {
        a.vzeroupper();
        if (Windows)
        {
            var saved = new[] { xmm6, xmm7, xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14, xmm15 };
            for (int i = 0; i < saved.Length; i++) a.vmovdqu(saved[i], __xmmword_ptr[rsp + 16 * i]);
            a.add(rsp, XmmSave);
            a.pop(rdi); a.pop(rsi);
        }
        a.pop(r15); a.pop(r14); a.pop(r13); a.pop(r12); a.pop(rbp); a.pop(rbx);
        a.ret();
    }
}
