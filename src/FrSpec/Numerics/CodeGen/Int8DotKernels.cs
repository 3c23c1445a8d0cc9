using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using static FrSpec.Numerics.CodeGen.Bf16DotKernels;

namespace FrSpec.Numerics.CodeGen;

/// <summary>Arguments of a generated int8 kernel (field offsets are part of the generated code).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Int8DotArgs
{
    /// <summary>First group of 16 interleaved weight rows.</summary>
    public nint W;
    /// <summary>Groups to process, one after another (each a contiguous run of bytes).</summary>
    public long Groups;
    /// <summary>File blocks per row (group blocks per group).</summary>
    public long Blocks;
    /// <summary>The activation tile (<see cref="Quantized.Int8Activations"/>): codes, scales, corrections, minimum terms.</summary>
    public nint XQ, XD, XC, XM;
    /// <summary>Results: activation a, group g at Y + a·YStride + 64·g (16 floats).</summary>
    public nint Y;
    public long YStride;

    public static class Offsets
    {
        public const int W = 0, Groups = 8, Blocks = 16, XQ = 24, XD = 32, XC = 40, XM = 48, Y = 56, YStride = 64;
    }
}

/// <summary>
/// Generated vpdpbusd kernels for the block-quantized types in the engine's <see cref="Quantized.InterleavedLayout"/>:
/// one kernel per (type, tile of 1..16 activation rows). A 64-byte weight vector holds 4 weights of each of 16 rows, so
/// <c>vpdpbusd acc, weights, {activation dword broadcast}</c> adds 4 products into each row's own int32 lane: a
/// sub-block's exact integer sum needs no shuffles or horizontal adds, and the vector serves every activation row of the
/// tile (M + 1 loads per M dot products; a tile of more than 8 rows runs as two halves of 8 integer accumulators, the
/// second reloading the group block's vectors from L1, so the weights come from memory once for up to 16 rows). vpdpbusd multiplies unsigned by signed bytes, so weights are the unsigned
/// operand (Q8_0 stored q + 128, 4- and 6-bit codes as they are) and the accumulator starts from the activation's
/// precomputed correction (−128·Σq, −8·Σq, −32·Σq per sub-block), which leaves Σ w·x exactly. Per sub-block each
/// (row, activation) pair then does in fp32, in this order, what <see cref="Quantized.ManagedInt8Kernel"/> does:
/// t = (float)T; t = t·s_w (the row's scale: d, or d·sc for K-quants); acc = fma(t, dx, acc); for Q4_K also
/// acc = fma(−dmin·m, dx·Σq, acc). Lanes never mix, so results do not depend on the tile or batch.
/// A group's 16 results per activation leave as one 64-byte store. Q8_0 tiles of 2 or more rows walk their groups in
/// pairs (<see cref="Emitter.PairPasses"/>): an activation dword is broadcast into a register once and feeds both groups'
/// vectors. For one activation row (decode) the integer sum
/// alternates between two accumulators to halve vpdpbusd's dependency chain (integer addition is exact in any order),
/// and the K-quant kernels prefetch their weights ahead (<see cref="Emitter.DecodePrefetchDistance"/>; batched tiles
/// <see cref="Emitter.BatchPrefetchDistance"/>).
/// </summary>
internal sealed unsafe class Int8DotKernels
{
    public const int MaxActs = Quantized.Int8Activations.MaxTileActs;
    private static readonly DType[] Types = [DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K];

    private readonly nint[] _kernels; // [type index · MaxActs + (m − 1)]

    private Int8DotKernels(nint[] kernels) { _kernels = kernels; }

    /// <summary>The kernel for <paramref name="type"/> and a tile of <paramref name="acts"/> activation rows.</summary>
    public delegate* unmanaged[Cdecl]<Int8DotArgs*, void> Kernel(DType type, int acts) =>
        (delegate* unmanaged[Cdecl]<Int8DotArgs*, void>)_kernels[Array.IndexOf(Types, type) * MaxActs + acts - 1];

    public static bool Supports(DType type) => Array.IndexOf(Types, type) >= 0;

    public static Int8DotKernels Create(CodePlacer placer)
    {
        var lib = new KernelLibrary();
        var index = new int[Types.Length * MaxActs];
        for (int t = 0; t < Types.Length; t++)
            for (int m = 1; m <= MaxActs; m++) index[t * MaxActs + m - 1] = lib.End(new Emitter(Types[t], m).Emit());
        var addresses = lib.Place(placer);
        return new Int8DotKernels(index.Select(i => addresses[i]).ToArray());
    }

    private sealed class Emitter(DType type, int acts)
    {
        private const int Half = 8; // integer sums live in 8 registers: a tile of 9..16 rows runs in two halves
        private readonly Assembler a = KernelLibrary.Begin();
        private readonly bool split = acts == 1;
        /// <summary>Q8_0 tiles of 2 or more rows run pairs of groups. One row (decode) keeps its own instruction sequence:
        /// whether pairs help it too is open (`bench products`, one run of 25 rounds: 16.6 against 17.6–17.9 ms).</summary>
        private readonly bool pairs = type == DType.Q8_0 && acts >= 2;

        private static AssemblerRegisterZMM Acc(int m) => Zmm(m);
        private static AssemblerRegisterZMM Sum(int k) => Zmm(16 + k);
        private static readonly AssemblerRegisterZMM W0 = Zmm(24), Sw = Zmm(25), Mw = Zmm(26), T0 = Zmm(27), LowNibble = Zmm(28), T2 = Zmm(29);
        private static readonly AssemblerRegisterZMM Bits45 = Zmm(30), HighNibble = Zmm(31);
        // registers above the tile's accumulators, free when the tile is small (Q4_K pairs, Q6_K single row)
        private static readonly AssemblerRegisterZMM Sixteenth = Zmm(11), D = Zmm(8), DMin = Zmm(9), D16 = Zmm(10);

        /// <summary>Tiles up to this size run Q4_K a sub-block pair at a time (2 integer sums per activation row).</summary>
        private const int PairActs = 4;

        /// <summary>The activation rows of each half of the tile: [first, end).</summary>
        private IEnumerable<(int First, int End)> Halves => acts <= Half ? [(0, acts)] : [(0, Half), (Half, acts)];

        // GPRs: rdi args; rsi weight cursor; r8 groups left; r9 group blocks left; rax/rbx/rcx/rdx cursors into the
        // activation tile's Q/D/C/M and r12–r15 their starts; r10 the group's results; r11 YStride; rbp scratch (Q6_K: the
        // cursor over the group's d values while its blocks run).
        public Assembler Emit()
        {
            a.mov(rsi, __qword_ptr[rdi + Int8DotArgs.Offsets.W]);
            a.mov(r8, __qword_ptr[rdi + Int8DotArgs.Offsets.Groups]);
            a.mov(r10, __qword_ptr[rdi + Int8DotArgs.Offsets.Y]);
            a.mov(r11, __qword_ptr[rdi + Int8DotArgs.Offsets.YStride]);
            a.mov(r12, __qword_ptr[rdi + Int8DotArgs.Offsets.XQ]);
            a.mov(r13, __qword_ptr[rdi + Int8DotArgs.Offsets.XD]);
            a.mov(r14, __qword_ptr[rdi + Int8DotArgs.Offsets.XC]);
            a.mov(r15, __qword_ptr[rdi + Int8DotArgs.Offsets.XM]);
            Broadcast(LowNibble, 0x0F0F0F0F);
            if (type == DType.Q4_0 && acts == 1) Broadcast(HighNibble, unchecked((int)0xF0F0F0F0));
            if (type == DType.Q4_K) ScaleTripletConstants();
            if (type == DType.Q4_K && acts <= PairActs)
            {
                Broadcast(HighNibble, unchecked((int)0xF0F0F0F0));
                Broadcast(Sixteenth, BitConverter.SingleToInt32Bits(1f / 16));
            }
            if (type == DType.Q6_K) Broadcast(Bits45, 0x30303030);

            var groupLoop = a.CreateLabel(); var blockLoop = a.CreateLabel(); var done = a.CreateLabel();
            if (pairs) PairPasses(); // then an odd last group in the loop below
            a.test(r8, r8);
            a.jz(done);
            a.Label(ref groupLoop);
            for (int m = 0; m < acts; m++) a.vpxord(Acc(m), Acc(m), Acc(m));
            a.mov(rax, r12); a.mov(rbx, r13); a.mov(rcx, r14); a.mov(rdx, r15);
            a.mov(r9, __qword_ptr[rdi + Int8DotArgs.Offsets.Blocks]);
            if (type == DType.Q6_K)
            {
                // the group's d values come first (32 bytes per block), the block bodies after them: rbp walks the d values
                a.mov(rbp, r9);
                a.shl(rbp, 5);
                a.add(rbp, rsi);
                a.xchg(rbp, rsi);
            }
            a.Label(ref blockLoop);
            switch (type)
            {
                case DType.Q8_0: Q8_0Block(); break;
                case DType.Q4_0 when acts == 1: Q4_0StreamBlock(); break;
                case DType.Q4_0: Q4_0Block(); break;
                case DType.Q4_K when acts <= PairActs: Q4_KPairBlock(); break;
                case DType.Q4_K: Q4_KBlock(); break;
                case DType.Q6_K when acts == 1: Q6_KStreamBlock(); break;
                case DType.Q6_K: Q6_KBlock(); break;
            }
            a.dec(r9);
            a.jnz(blockLoop);
            a.mov(rbp, r10);
            for (int m = 0; m < acts; m++)
            {
                a.vmovups(__zmmword_ptr[rbp], Acc(m));
                if (m + 1 < acts) a.add(rbp, r11);
            }
            a.add(r10, 64);
            a.dec(r8);
            a.jnz(groupLoop);
            a.Label(ref done);
            if (type == DType.Q4_K) a.add(rsp, 64); // the vpshufb pattern (ScaleTripletConstants)
            if (pairs) a.mov(rsp, __qword_ptr[rsp + FrameBytes]); // PairPasses' frame
            return a;
        }

        /// <summary>Bytes of <see cref="PairPasses"/>' fp32 accumulators on the stack: (activation m, group g) at
        /// 64·(2m + g), those of <see cref="PairAcc"/> unused.</summary>
        private int FrameBytes => 128 * acts;

        private static int FrameOffset(int m, int g) => 64 * (2 * m + g);

        /// <summary><see cref="PairPasses"/>: zmm0–15 the integer sums of half a tile (row m, group g: 2m + g), zmm16–21
        /// the weights, scales, activation dword and dx; the 10 registers left hold the fp32 accumulators of rows 0–4.</summary>
        private static AssemblerRegisterZMM? PairAcc(int m, int g) => m < 5 ? Zmm(22 + 2 * m + g) : null;

        /// <summary>
        /// Q8_0, two groups (32 weight rows) at a time while two are left; the one-group loop takes an odd last group. A
        /// tile's activation dword is broadcast into a register once and feeds two reg-reg vpdpbusd, one per group's weight
        /// vector: 0.5 broadcast loads per vpdpbusd instead of one, and about 0.75 loads in all instead of 1.4 (weights,
        /// corrections, dx). The integer sums of half a tile take 16 registers, so most fp32 accumulators live in a
        /// contiguous frame on the stack (L1-resident; the result rows' power-of-two strides would share L1 sets), read by
        /// the fma and written back once per block. The fp32 steps and their order per (row, activation, block) are the
        /// one-group kernels'. `bench products --model q8_0.gguf` (variants alternating in one process, 21–31 rounds,
        /// 2026-12-03, eight runs): 16 rows 4–15% faster (33.5–35 ms against 34.8–40, varying with the bus), 8 rows
        /// 8–20%, 2–4 rows 4–8%; in cache (`bench int8-tile`) 72% of one thread's vpdpbusd peak against 65%.
        /// The pair runs two weight streams, and prefetching each one <see cref="PairPrefetch"/> ahead beat 16 blocks
        /// (40 ms), 8 (36–38) and 2 (37–38). Three groups per pass (24 sums, no accumulator registers) and parts of 6 rows
        /// visiting 2–8 blocks with their accumulators in registers were slower (the latter more so the more blocks: its
        /// loop body, most likely, outgrows the op cache).
        /// </summary>
        private void PairPasses()
        {
            // the frame: accumulators, then the caller's rsp, 64-byte aligned
            a.mov(rbp, rsp);
            a.sub(rsp, FrameBytes + 64);
            a.and(rsp, -64);
            a.mov(__qword_ptr[rsp + FrameBytes], rbp);
            var passLoop = a.CreateLabel(); var blockLoop = a.CreateLabel(); var rest = a.CreateLabel();
            a.Label(ref passLoop);
            a.cmp(r8, 2);
            a.jb(rest);
            a.vpxord(zmm0, zmm0, zmm0);
            for (int m = 0; m < acts; m++)
                for (int g = 0; g < 2; g++)
                {
                    if (PairAcc(m, g) is { } acc) a.vpxord(acc, acc, acc);
                    else a.vmovaps(__zmmword_ptr[rsp + FrameOffset(m, g)], zmm0);
                }
            a.mov(rax, r12); a.mov(rbx, r13); a.mov(rcx, r14);
            a.mov(r9, __qword_ptr[rdi + Int8DotArgs.Offsets.Blocks]);
            a.imul(rbp, r9, 544); // a group's bytes: the second group's block is at rsi + rbp
            a.Label(ref blockLoop);
            Q8_0PairBlock();
            a.dec(r9);
            a.jnz(blockLoop);
            a.add(rsi, rbp); // rsi is at the second group: skip it
            a.mov(rbp, r10);
            for (int m = 0; m < acts; m++)
            {
                for (int g = 0; g < 2; g++)
                {
                    var acc = PairAcc(m, g) ?? zmm0;
                    if (PairAcc(m, g) == null) a.vmovaps(acc, __zmmword_ptr[rsp + FrameOffset(m, g)]);
                    a.vmovups(__zmmword_ptr[rbp + 64 * g], acc);
                }
                if (m + 1 < acts) a.add(rbp, r11);
            }
            a.add(r10, 128);
            a.sub(r8, 2);
            a.jmp(passLoop);
            a.Label(ref rest);
        }

        /// <summary>One block of both groups of <see cref="PairPasses"/> (rbp: the bytes from the first group to the second).</summary>
        private void Q8_0PairBlock()
        {
            static AssemblerRegisterZMM S(int m, int g) => Zmm(2 * m + g);
            AssemblerRegisterZMM x = Zmm(20), dx = Zmm(21);
            AssemblerRegisterZMM[] w = [Zmm(16), Zmm(17)], sw = [Zmm(18), Zmm(19)];
            static AssemblerMemoryOperand Group(int g, int offset) => g == 0 ? __[rsi + offset] : __[rsi + rbp + offset];
            if (acts >= Q8_0PrefetchActs)
                for (int g = 0; g < 2; g++)
                    for (int offset = 0; offset < 544 + 32; offset += 64) a.prefetcht1(__byte_ptr[Group(g, PairPrefetch + offset)]);
            for (int g = 0; g < 2; g++) a.vcvtph2ps(sw[g], __ymmword_ptr[Group(g, 0)]);
            foreach (var (first, end) in Halves)
            {
                for (int m = first; m < end; m++)
                    for (int g = 0; g < 2; g++) a.vpbroadcastd(S(m - first, g), __dword_ptr[rcx + 4 * m]);
                for (int s = 0; s < 8; s++)
                {
                    for (int g = 0; g < 2; g++) a.vmovdqu8(w[g], __zmmword_ptr[Group(g, 32 + 64 * s)]);
                    for (int m = first; m < end; m++)
                    {
                        a.vpbroadcastd(x, __dword_ptr[rax + 32 * m + 4 * s]);
                        for (int g = 0; g < 2; g++) a.vpdpbusd(S(m - first, g), w[g], x);
                    }
                }
                for (int m = first; m < end; m++)
                {
                    a.vbroadcastss(dx, __dword_ptr[rbx + 4 * m]);
                    for (int g = 0; g < 2; g++)
                    {
                        // acc = fma(t·s_w, dx, acc) as in Update (fma rounds once, so dx·t + acc is the same bits)
                        var t = S(m - first, g);
                        a.vcvtdq2ps(t, t);
                        a.vmulps(t, t, sw[g]);
                        if (PairAcc(m, g) is { } acc) a.vfmadd231ps(acc, t, dx);
                        else
                        {
                            a.vfmadd213ps(t, dx, __zmmword_ptr[rsp + FrameOffset(m, g)]);
                            a.vmovaps(__zmmword_ptr[rsp + FrameOffset(m, g)], t);
                        }
                    }
                }
            }
            Advance(544, 32 * acts, 4 * acts, 4 * acts, 0);
        }

        /// <summary>Q4_K: the vpermd index that brings rows 4L … 4L + 3's 12 scale bytes into 128-bit lane L (a tile of up
        /// to <see cref="PairActs"/> rows leaves Sw free, a larger one the register of the 4-bit masks it no longer needs).</summary>
        private AssemblerRegisterZMM TripletIndex => acts <= PairActs ? Sw : Zmm(31);

        private static readonly AssemblerRegisterZMM Dword63 = Zmm(30); // Q4_K only (Q6_K has Bits45 there)

        /// <summary>
        /// Q4_K's scale decoding constants. A row's 3 bytes reach its dword in two steps that need only AVX-512F/BW (vpermb
        /// would need VBMI): <see cref="TripletIndex"/> (vpermd) moves dwords 3L … 3L + 2 into lane L, then the vpshufb
        /// pattern kept at [rsp] for the whole kernel (64 bytes, popped at its end) sends bytes 3k … 3k + 2 of the lane to
        /// dword k and zeroes byte 3. <see cref="Dword63"/> masks a 6-bit field.
        /// </summary>
        private void ScaleTripletConstants()
        {
            const ulong Zero = 0x80; // vpshufb: a set top bit zeroes the byte
            static ulong Shuffle(int k) => 3UL * (uint)k | (3UL * (uint)k + 1) << 8 | (3UL * (uint)k + 2) << 16 | Zero << 24;
            static ulong Dwords(int lane, int i) => (3UL * (uint)lane + (uint)i) | (3UL * (uint)lane + (uint)Math.Min(i + 1, 2)) << 32;
            // pushed from the last qword, so that the first lies at [rsp]: the vpermd index above the vpshufb pattern
            for (int q = 7; q >= 0; q--) PushQword(Shuffle(2 * (q & 1)) | Shuffle(2 * (q & 1) + 1) << 32);
            for (int q = 7; q >= 0; q--) PushQword(Dwords(q / 2, 2 * (q & 1)));
            a.vmovdqu32(TripletIndex, __zmmword_ptr[rsp]);
            a.add(rsp, 64);
            Broadcast(Dword63, 63);
        }

        private void PushQword(ulong value)
        {
            a.mov(rbp, unchecked((long)value));
            a.push(rbp);
        }

        /// <summary>Q4_K: dword r of <paramref name="t"/> = row r's 3 scale bytes of sub-block pair <paramref name="c"/>
        /// (<see cref="Quantized.InterleavedLayout.Q4_KScales"/>), byte 3 zero.</summary>
        private void ScaleTriplets(AssemblerRegisterZMM t, int c)
        {
            a.vpermd(t, TripletIndex, __zmmword_ptr[rsi + Quantized.InterleavedLayout.Q4_KScales(c)]);
            a.vpshufb(t, t, __zmmword_ptr[rsp]);
        }

        private void Broadcast(AssemblerRegisterZMM z, int value)
        {
            a.mov(ebp, value);
            a.vpbroadcastd(z, ebp);
        }

        /// <summary>Integer sums of rows [first, end) start from the correction at [rcx + offset(m)], or from zero.</summary>
        private void InitSums(int first, int end, Func<int, int>? correction)
        {
            for (int m = first; m < end; m++)
            {
                if (correction != null) a.vpbroadcastd(Sum(m - first), __dword_ptr[rcx + correction(m)]);
                else a.vpxord(Sum(m - first), Sum(m - first), Sum(m - first));
            }
            if (split) a.vpxord(Sum(1), Sum(1), Sum(1));
        }

        /// <summary>vpdpbusd of weight vector <paramref name="w"/> against activation dwords at [rax + offset(m)];
        /// <paramref name="step"/> picks the accumulator when one activation row alternates between two.</summary>
        private void Dots(AssemblerRegisterZMM w, int first, int end, int step, Func<int, int> offset)
        {
            for (int m = first; m < end; m++)
                a.vpdpbusd(split && (step & 1) == 1 ? Sum(1) : Sum(m - first), w, __dword_bcst[rax + offset(m)]);
        }

        /// <summary>acc(m) = fma((float)T(m)·Sw, dx at [rbx + dx(m)], acc(m)); with <paramref name="mins"/>, then
        /// acc(m) = fma(−Mw, [rdx + dx(m)], acc(m)).</summary>
        private void Update(int first, int end, Func<int, int> dx, bool mins = false)
        {
            if (split) a.vpaddd(Sum(0), Sum(0), Sum(1));
            for (int m = first; m < end; m++)
            {
                var t = Sum(m - first);
                a.vcvtdq2ps(t, t);
                a.vmulps(t, t, Sw);
                a.vfmadd231ps(Acc(m), t, __dword_bcst[rbx + dx(m)]);
                if (mins) a.vfnmadd231ps(Acc(m), Mw, __dword_bcst[rdx + dx(m)]);
            }
        }

        private void Q8_0Block()
        {
            if (acts >= Q8_0PrefetchActs) PrefetchWeights(Q8_0BatchPrefetch, 544);
            a.vcvtph2ps(Sw, __ymmword_ptr[rsi]);
            foreach (var (first, end) in Halves)
            {
                InitSums(first, end, m => 4 * m);
                for (int s = 0; s < 8; s++)
                {
                    a.vmovdqu8(W0, __zmmword_ptr[rsi + 32 + 64 * s]);
                    Dots(W0, first, end, s, m => 32 * m + 4 * s);
                }
                Update(first, end, m => 4 * m);
            }
            Advance(544, 32 * acts, 4 * acts, 4 * acts, 0);
        }

        private void Q4_0Block()
        {
            // as the batched K-quant tiles (BatchPrefetchDistance; a Q4_0 group block is 4.5 lines, so by bytes):
            // `bench products --model q4_0.gguf --rows 1 2 8 16 --rounds 5`, builds without and with it alternating, three
            // runs (2026-12-03): 8 rows 23.9–28.1 ms against 14.7–23.1, 16 rows 38.6–41.6 against 28.1–36.3, 2 rows
            // 13.1–14.1 against 12.3–17.3
            PrefetchWeights(BatchPrefetchDistance, 288);
            a.vcvtph2ps(Sw, __ymmword_ptr[rsi]);
            foreach (var (first, end) in Halves)
            {
                InitSums(first, end, m => 4 * m);
                for (int j = 0; j < 4; j++)
                {
                    // low nibbles: weights 4j + i; high nibbles: weights 16 + 4j + i
                    a.vmovdqu8(T0, __zmmword_ptr[rsi + 32 + 64 * j]);
                    a.vpandd(W0, T0, LowNibble);
                    Dots(W0, first, end, 0, m => 32 * m + 4 * j);
                    a.vpsrlw(T0, T0, 4);
                    a.vpandd(W0, T0, LowNibble);
                    Dots(W0, first, end, 1, m => 32 * m + 16 + 4 * j);
                }
                Update(first, end, m => 4 * m);
            }
            Advance(288, 32 * acts, 4 * acts, 4 * acts, 0);
        }

        /// <summary>
        /// Q4_0 for one activation row (decode), in fewer instructions than <see cref="Q4_0Block"/>: a single row is bound by
        /// instruction throughput (512-bit operations issue at half rate on some cores), not by vpdpbusd's latency. The high
        /// nibbles are masked in place (16 × the code) instead of shifted and masked, and gather in their own integer sum,
        /// shifted right by 4 (exact: every term is a multiple of 16) before joining the low nibbles' sum: the block's integer T
        /// is the definition's, and so is every bit after it.
        /// </summary>
        private void Q4_0StreamBlock()
        {
            AssemblerRegisterZMM low = Sum(0), high = Sum(1);
            AssemblerRegisterZMM[] t = [Zmm(1), Zmm(2), Zmm(3), Zmm(4)], wl = [Zmm(5), Zmm(6), Zmm(7), Zmm(8)], wh = [Zmm(9), Zmm(10), Zmm(11), Zmm(12)];
            a.vcvtph2ps(Sw, __ymmword_ptr[rsi]);
            a.vpbroadcastd(low, __dword_ptr[rcx]);
            a.vpxord(high, high, high);
            for (int j = 0; j < 4; j++)
            {
                // low nibbles: weights 4j + i; high nibbles: weights 16 + 4j + i
                a.vmovdqu8(t[j], __zmmword_ptr[rsi + 32 + 64 * j]);
                a.vpandd(wl[j], t[j], LowNibble);
                a.vpandd(wh[j], t[j], HighNibble);
                a.vpdpbusd(low, wl[j], __dword_bcst[rax + 4 * j]);
                a.vpdpbusd(high, wh[j], __dword_bcst[rax + 16 + 4 * j]);
            }
            a.vpsrad(high, high, 4);
            a.vpaddd(low, low, high);
            a.vcvtdq2ps(low, low);
            a.vmulps(low, low, Sw);
            a.vfmadd231ps(Acc(0), low, __dword_bcst[rbx]);
            Advance(288, 32, 4, 4, 0);
        }

        private void Q4_KBlock()
        {
            for (int j = 0; j < 8; j++)
            {
                BatchPrefetch(36 * j / 8, 36 * (j + 1) / 8); // the group block's 36 lines, spread over its sub-blocks
                // scale and min of sub-block j for the 16 rows (the integer sums' registers serve as scratch): the row's 3
                // bytes of pair j / 2 into its dword, sub-block j's scale at bit 12·(j & 1), its min 6 above; then times d and dmin
                AssemblerRegisterZMM lo = Sum(0), sc = Sum(2), t = Sum(3), d = Sum(4);
                int shift = 12 * (j & 1);
                ScaleTriplets(t, j / 2);
                if (shift == 0) a.vpandd(sc, t, Dword63);
                else { a.vpsrld(sc, t, (byte)shift); a.vpandd(sc, sc, Dword63); }
                a.vpsrld(lo, t, (byte)(shift + 6));
                if (shift == 0) a.vpandd(lo, lo, Dword63);
                a.vcvtph2ps(d, __ymmword_ptr[rsi]);
                a.vcvtdq2ps(sc, sc);
                a.vmulps(Sw, d, sc);
                a.vcvtph2ps(d, __ymmword_ptr[rsi + 32]);
                a.vcvtdq2ps(lo, lo);
                a.vmulps(Mw, d, lo);
                foreach (var (first, end) in Halves)
                {
                    InitSums(first, end, null);
                    for (int s = 0; s < 8; s++)
                    {
                        // chunk j / 2: sub-block j is the low (even j) or high (odd j) nibbles
                        a.vmovdqu8(T0, __zmmword_ptr[rsi + 256 + 64 * (8 * (j / 2) + s)]);
                        if ((j & 1) == 1) a.vpsrlw(T0, T0, 4);
                        a.vpandd(W0, T0, LowNibble);
                        int jj = j, ss = s;
                        Dots(W0, first, end, s, m => 32 * (jj * acts + m) + 4 * ss);
                    }
                    int j2 = j;
                    Update(first, end, m => 4 * (j2 * acts + m), mins: true);
                }
            }
            Advance(2304, 256 * acts, 32 * acts, 0, 32 * acts);
        }

        /// <summary>
        /// Q4_K for tiles of up to <see cref="PairActs"/> rows: sub-blocks 2c and 2c + 1 share their code vectors (low and
        /// high nibbles), so each vector is read once and feeds both. The high nibbles are masked in place (16 × the code),
        /// and sub-block 2c + 1's scale is d/16 · sc instead of d · sc: both are exact powers of two, so
        /// (float)(16T) · (d/16 · sc) rounds exactly as (float)T · (d · sc) and the bits match the definition. The scales and
        /// mins of a pair come from one vpermd and one vpshufb of their 48 bytes (<see cref="Quantized.InterleavedLayout.Q4_KScales"/>).
        /// For one activation row each line is prefetched <see cref="DecodePrefetchDistance"/> ahead.
        /// </summary>
        private void Q4_KPairBlock()
        {
            a.vcvtph2ps(D, __ymmword_ptr[rsi]);
            a.vcvtph2ps(DMin, __ymmword_ptr[rsi + 32]);
            a.vmulps(D16, D, Sixteenth);
            // decode: every line of the group block once, its 4 lines of scales here, each code line where it is read
            if (acts == 1) for (int i = 0; i < 4; i++) DecodePrefetch(64 * i);
            AssemblerRegisterZMM le = Zmm(12), lo = Zmm(13), t = Zmm(15), swE = Zmm(4), swO = Zmm(5), mwE = Zmm(6), mwO = Zmm(7);
            for (int c = 0; c < 4; c++)
            {
                if (acts > 1) BatchPrefetch(9 * c, 9 * c + 9);
                // dword r = row r's sc_e | m_e << 6 | sc_o << 12 | m_o << 18 (le: m_e, lo: m_o)
                ScaleTriplets(t, c);
                a.vpandd(swE, t, Dword63);
                a.vpsrld(le, t, 6);
                a.vpandd(le, le, Dword63);
                a.vpsrld(swO, t, 12);
                a.vpandd(swO, swO, Dword63);
                a.vpsrld(lo, t, 18);
                a.vcvtdq2ps(swE, swE); a.vmulps(swE, swE, D);
                a.vcvtdq2ps(swO, swO); a.vmulps(swO, swO, D16);
                a.vcvtdq2ps(le, le); a.vmulps(mwE, le, DMin);
                a.vcvtdq2ps(lo, lo); a.vmulps(mwO, lo, DMin);
                for (int m = 0; m < 2 * acts; m++) a.vpxord(Sum(m), Sum(m), Sum(m));
                int je = 2 * c, jo = 2 * c + 1;
                for (int s = 0; s < 8; s++)
                {
                    if (acts == 1) DecodePrefetch(256 + 64 * (8 * c + s));
                    a.vmovdqu8(T0, __zmmword_ptr[rsi + 256 + 64 * (8 * c + s)]);
                    a.vpandd(W0, T0, LowNibble);
                    a.vpandd(T2, T0, HighNibble);
                    for (int m = 0; m < acts; m++)
                    {
                        a.vpdpbusd(Sum(2 * m), W0, __dword_bcst[rax + 32 * (je * acts + m) + 4 * s]);
                        a.vpdpbusd(Sum(2 * m + 1), T2, __dword_bcst[rax + 32 * (jo * acts + m) + 4 * s]);
                    }
                }
                for (int m = 0; m < acts; m++)
                    foreach (var (j, e) in new[] { (je, 0), (jo, 1) })
                    {
                        var sum = Sum(2 * m + e);
                        a.vcvtdq2ps(sum, sum);
                        a.vmulps(sum, sum, e == 0 ? swE : swO);
                        a.vfmadd231ps(Acc(m), sum, __dword_bcst[rbx + 4 * (j * acts + m)]);
                        a.vfnmadd231ps(Acc(m), e == 0 ? mwE : mwO, __dword_bcst[rdx + 4 * (j * acts + m)]);
                    }
            }
            Advance(2304, 256 * acts, 32 * acts, 0, 32 * acts);
        }

        /// <summary>
        /// Q6_K for one activation row (decode): the block body is read front to back once (<see cref="Quantized.InterleavedLayout.Q6_KBody"/>).
        /// A half starts with its 8 sub-blocks' scales, turned into d·sc at once; then one step u loads the two low-bit
        /// vectors and the high-bit vector it shares with three other code vectors, builds the 4 codes (quarters 0–3) and
        /// adds them into 8 integer sums (quarter × e), which are then scaled sub-block by sub-block in ascending order, as
        /// the definition does. Each line is prefetched <see cref="DecodePrefetchDistance"/> ahead.
        /// </summary>
        private void Q6_KStreamBlock()
        {
            AssemblerRegisterZMM d = Zmm(1), lowA = Zmm(2), lowB = Zmm(3), high = Zmm(4);
            AssemblerRegisterZMM[] w = [Zmm(5), Zmm(7), Zmm(9), Zmm(10)];
            AssemblerRegisterZMM[] t = [Zmm(6), Zmm(8), Zmm(11), Zmm(13)];
            AssemblerRegisterZMM[] sw = [Zmm(12), Zmm(14), Zmm(15), Zmm(24), Zmm(25), Zmm(26), Zmm(27), Zmm(29)];
            a.vcvtph2ps(d, __ymmword_ptr[rbp]);
            for (int h = 0; h < 2; h++)
            {
                // every line of the body once, as the half reads it: its 2 scale lines, then 3 lines per step
                DecodePrefetch(Quantized.InterleavedLayout.Q6_KScales(8 * h));
                DecodePrefetch(Quantized.InterleavedLayout.Q6_KScales(8 * h) + 64);
                for (int s = 0; s < 8; s++)
                {
                    a.vpmovsxbd(sw[s], __xmmword_ptr[rsi + Quantized.InterleavedLayout.Q6_KScales(8 * h + s)]);
                    a.vcvtdq2ps(sw[s], sw[s]);
                    a.vmulps(sw[s], sw[s], d);
                }
                for (int s = 0; s < 8; s++) a.vpbroadcastd(Sum(s), __dword_ptr[rcx + 4 * (8 * h + s)]);
                for (int u = 0; u < 8; u++)
                {
                    DecodePrefetch(Quantized.InterleavedLayout.Q6_KLow(h, u));
                    DecodePrefetch(Quantized.InterleavedLayout.Q6_KLow(h, 8 + u));
                    DecodePrefetch(Quantized.InterleavedLayout.Q6_KHigh(h, u));
                    a.vmovdqu8(lowA, __zmmword_ptr[rsi + Quantized.InterleavedLayout.Q6_KLow(h, u)]);
                    a.vmovdqu8(lowB, __zmmword_ptr[rsi + Quantized.InterleavedLayout.Q6_KLow(h, 8 + u)]);
                    a.vmovdqu8(high, __zmmword_ptr[rsi + Quantized.InterleavedLayout.Q6_KHigh(h, u)]);
                    // code = low or high nibble | bits 2qq..2qq+1 of the high byte, moved to bits 4–5
                    a.vpandd(w[0], lowA, LowNibble);
                    a.vpsllw(t[0], high, 4);
                    a.vpandd(w[1], lowB, LowNibble);
                    a.vpsllw(t[1], high, 2);
                    a.vpsrlw(w[2], lowA, 4);
                    a.vpandd(w[2], w[2], LowNibble);
                    a.vpsrlw(w[3], lowB, 4);
                    a.vpandd(w[3], w[3], LowNibble);
                    a.vpsrlw(t[3], high, 2);
                    a.vpternlogd(w[0], t[0], Bits45, 0xF8);
                    a.vpternlogd(w[1], t[1], Bits45, 0xF8);
                    a.vpternlogd(w[2], high, Bits45, 0xF8);
                    a.vpternlogd(w[3], t[3], Bits45, 0xF8);
                    int e = u / 4;
                    for (int qq = 0; qq < 4; qq++)
                        a.vpdpbusd(Sum(2 * qq + e), w[qq], __dword_bcst[rax + 32 * (4 * h + qq) + 16 * e + 4 * (u % 4)]);
                }
                for (int s = 0; s < 8; s++)
                {
                    a.vcvtdq2ps(Sum(s), Sum(s));
                    a.vmulps(Sum(s), Sum(s), sw[s]);
                    a.vfmadd231ps(Acc(0), Sum(s), __dword_bcst[rbx + 4 * (4 * h + s / 2)]);
                }
            }
            a.add(rbp, 32);
            Advance(Quantized.InterleavedLayout.Q6_KBody, 256, 32, 64, 0);
        }

        private void Q6_KBlock()
        {
            for (int h = 0; h < 2; h++)
                for (int qq = 0; qq < 4; qq++)
                    for (int e = 0; e < 2; e++)
                    {
                        int s = 8 * h + 2 * qq + e, blk = 4 * h + qq;
                        BatchPrefetch(52 * s / 16, 52 * (s + 1) / 16); // the body's 52 lines, spread over its sub-blocks
                        AssemblerRegisterZMM sc = Sum(0), d = Sum(1);
                        a.vpmovsxbd(sc, __xmmword_ptr[rsi + Quantized.InterleavedLayout.Q6_KScales(s)]);
                        a.vcvtdq2ps(sc, sc);
                        a.vcvtph2ps(d, __ymmword_ptr[rbp]);
                        a.vmulps(Sw, d, sc);
                        foreach (var (first, end) in Halves)
                        {
                            InitSums(first, end, m => 4 * (s * acts + m));
                            for (int u = 4 * e; u < 4 * e + 4; u++)
                            {
                                // 6-bit code = low or high nibble of the ql vector | bits 2qq..2qq+1 of the qh vector, at bits 4–5
                                a.vmovdqu8(T0, __zmmword_ptr[rsi + Quantized.InterleavedLayout.Q6_KLow(h, 8 * (qq & 1) + u)]);
                                if (qq >= 2) a.vpsrlw(T0, T0, 4);
                                a.vpandd(W0, T0, LowNibble);
                                var high = __zmmword_ptr[rsi + Quantized.InterleavedLayout.Q6_KHigh(h, u)];
                                switch (qq)
                                {
                                    case 0: a.vpsllw(T2, high, 4); break;
                                    case 1: a.vpsllw(T2, high, 2); break;
                                    case 2: a.vmovdqu8(T2, high); break;
                                    default: a.vpsrlw(T2, high, 2); break;
                                }
                                a.vpternlogd(W0, T2, Bits45, 0xF8); // W0 | (T2 & 0x30)
                                int uu = u - 4 * e, ee = e;
                                Dots(W0, first, end, u, m => 32 * (blk * acts + m) + 16 * ee + 4 * uu);
                            }
                            Update(first, end, m => 4 * (blk * acts + m));
                        }
                    }
            a.add(rbp, 32);
            Advance(Quantized.InterleavedLayout.Q6_KBody, 256 * acts, 32 * acts, 64 * acts, 0);
        }

        /// <summary>
        /// How far ahead of the group block being multiplied a batched Q8_0 kernel asks for its weights: 16 group blocks
        /// (8.5 KB), into L2. A batch spends about 10 times longer per block than decode does, and at that pace the hardware
        /// prefetchers fall behind the memory latency: in `bench int8-tile` (16 rows, matrices beyond L2) the products ran at
        /// 43–50% of the vpdpbusd peak without prefetches and 67–75% with prefetcht0 8 blocks ahead. Through a whole pass
        /// (every layer's products of the Q8_0 1B shape, weights streamed from memory; a scratch harness alternating the
        /// variants in one process, three runs of 7–21 rounds) 16 rows took 53–57 ms with prefetcht0 8 blocks ahead and
        /// 47–51 ms with prefetcht1 16 blocks ahead, 8 rows 40–44 and 37–38 ms; `bench components` agrees (docs/history/gguf-rounds.md,
        /// "Prefetching into L2"). Most likely a prefetch into L1 holds one of L1's few miss buffers until its line arrives
        /// and one into L2 does not, so more lines are in flight. Farther (24–48 blocks) was no better; decode (one row)
        /// gains nothing, the hardware prefetchers keep up there.
        /// </summary>
        private const int Q8_0BatchPrefetch = 16 * 544;

        /// <summary>How far ahead of each of its two group blocks a pair pass (<see cref="PairPasses"/>) prefetches: 4 group
        /// blocks, 2.2 KB of each stream (see there).</summary>
        private const int PairPrefetch = 4 * 544;

        /// <summary>Tiles from this many activation rows up prefetch. Smaller tiles are nearly as fast per block as decode and
        /// the hardware prefetchers keep up with them: the 4-row products of the same pass took 34 ms without prefetches and
        /// 35–36 ms with either prefetch (the same harness, 21 rounds), 8 rows 36.7 ms either way.</summary>
        private const int Q8_0PrefetchActs = 5;

        /// <summary>prefetcht1 (into L2) of every cache line of the <paramref name="bytes"/> at rsi + <paramref name="distance"/>,
        /// which start on a 32-byte boundary (Q8_0 group blocks of 544 bytes in a 64-byte aligned matrix). A prefetch never
        /// faults, so running past the end of the matrix is harmless.</summary>
        private void PrefetchWeights(int distance, int bytes)
        {
            for (int offset = 0; offset < bytes + 32; offset += 64) a.prefetcht1(__byte_ptr[rsi + distance + offset]);
        }

        /// <summary>
        /// How far ahead of the line being read the one-row (decode) K-quant kernels ask for their weights: prefetcht0 of each
        /// line of the Q4_K group block or Q6_K block body, 8 KiB on (the matrix is one stream through its groups, so the
        /// address runs on into the next group block, body or group). Without it these kernels overlapped little of their
        /// arithmetic with the memory stream: `bench decode` "by type" on /tmp/l12q/q4_k_m.gguf (Zen 5, 2 threads) had their
        /// products at 60–87% (Q4_K) and 56–76% (Q6_K) of a plain read of the same matrices in the same split, about what
        /// compute and memory back to back would give at their in-cache rate (~80 GB/s per thread). Prefetching every line
        /// gave 91–133% and 89–120% in the same sessions, with prefetcht0 2, 4, 6 or 8 KiB ahead or prefetcht1 4 or 8 KiB
        /// ahead alike (within the runs' noise); every other line only, 99% and 78%. 8 KiB leaves margin for a faster bus.
        /// Q4_0 and Q8_0 reach 90–100% without; Q4_0's one-row kernel with this prefetch gave 93–95% against 98–105% without
        /// (two alternating pairs of runs on /tmp/l12q/q4_0.gguf), so Q4_0 and Q8_0 do not prefetch at decode.
        /// </summary>
        private const int DecodePrefetchDistance = 8192;

        /// <summary>prefetcht0 of the line at rsi + <paramref name="offset"/> + <see cref="DecodePrefetchDistance"/>. A prefetch never
        /// faults, so running past the end of the matrix is harmless.</summary>
        private void DecodePrefetch(int offset) => a.prefetcht0(__byte_ptr[rsi + DecodePrefetchDistance + offset]);

        /// <summary>
        /// How far ahead of the block being multiplied the batched K-quant and Q4_0 tiles (2–16 rows) ask for their weights:
        /// prefetcht1 (into L2) of every line of the Q4_K or Q4_0 group block or Q6_K block body, 8 KiB on (the next blocks, bodies
        /// or groups: one stream, as for decode). Without it these tiles left most of the memory latency exposed, as the
        /// one-row kernels had before <see cref="DecodePrefetchDistance"/>, and even 2-row tiles, which compute a block in
        /// less time than decode streams it, took more than twice decode's time. `bench products --model q4_k_m.gguf` (variants
        /// alternating in one process, 15 rounds, 2026-12-03; two runs against none): 8 rows 17.5–22.5 ms against 28.6–36.8,
        /// 16 rows 34.6–40.2 against 48.4–65.7, 4 rows 10.5 against 23.9, 2 rows 11.1 against 21.8. prefetcht1 4, 6, 12 or
        /// 16 KiB ahead, prefetcht0 4 or 8 KiB, prefetcht2 8 KiB and an extra prefetcht0 1 or 2 KiB ahead were no better
        /// (prefetcht0 8 KiB lost at 16 rows in one run: 51.6 ms against 40.2).
        /// </summary>
        private const int BatchPrefetchDistance = 8192;

        /// <summary>Batched K-quant tiles: prefetcht1 of lines [<paramref name="first"/>, <paramref name="end"/>) of the block
        /// at rsi, <see cref="BatchPrefetchDistance"/> ahead (harmless past the matrix's end: a prefetch never faults).</summary>
        private void BatchPrefetch(int first, int end)
        {
            for (int i = first; i < end; i++) a.prefetcht1(__byte_ptr[rsi + BatchPrefetchDistance + 64 * i]);
        }

        private void Advance(int weights, int q, int d, int c, int mins)
        {
            a.add(rsi, weights);
            a.add(rax, q);
            a.add(rbx, d);
            if (c != 0) a.add(rcx, c);
            if (mins != 0) a.add(rdx, mins);
        }
    }
}
