using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FrSpec.Numerics.Quantized;

/// <summary>
/// The int8 products of runs of 16-row groups (<see cref="InterleavedLayout"/>) against one <see cref="Int8Activations"/>
/// tile in AVX2 registers: what the generated vpdpbusd kernels (<see cref="CodeGen.Int8DotKernels"/>) compute, for CPUs
/// without AVX-512 (Zen 2/3, most laptops). A 64-byte layout vector is two ymm halves of 8 rows each; a half meets an
/// activation dword broadcast to all lanes in vpmaddubsw (unsigned codes × signed activations, pairs into int16) and
/// vpmaddwd by ones (into each row's int32 lane). 4-bit codes (≤ 15·127·2 per pair) gather up to 8 vpmaddubsw results in
/// int16 before one vpmaddwd, 6-bit codes two, exactly; Q8_0 takes |q| against the activation carrying q's sign (its
/// q + 128 storage would saturate vpmaddubsw). The integer sums are exact, so their order is free; the fp32 steps per
/// row are <see cref="ManagedInt8Kernel"/>'s, <c>acc = fma((float)T · s_w, dx, acc)</c> sub-block after sub-block
/// (Q4_K: then <c>acc = fma(−m_w, dx·Σq, acc)</c>), so every path returns the same bits.
/// <para>
/// A group block's row scales (d, d·sc, dmin·m) are decoded once for all 16 rows, vectorised. Decode (one activation)
/// walks the whole run of groups, one memory stream prefetched ahead, both halves' integer sums in registers (Q6_K a
/// half at a time, its block body then in L1); a batch tile walks the group block by block, chunks of up to 8 (Q8_0,
/// Q4_0) or 4 activations × one half in registers, the block's bytes staying in L1 while the chunks pass over them
/// (accumulators in a small buffer, loaded and stored once per block and chunk). Each type's block kernel is compiled on
/// its own (NoInlining): inlined into one caller together, the small helpers went over the JIT's inline budget and were
/// left as calls.
/// </para>
/// </summary>
internal static unsafe class Avx2Int8Kernel
{
    private const int Lanes = InterleavedLayout.GroupRows;
    /// <summary>Activations per chunk: Q8_0 and Q4_0 need one integer sum per activation (8 fit in registers, the weight
    /// vector's sign split or nibble unpacking shared by more of them), Q4_K two and Q6_K two plus the int16 step.</summary>
    private static int MaxChunk(DType type) => type is DType.Q8_0 or DType.Q4_0 ? 8 : 4;

    /// <summary>
    /// How far ahead of the group block being multiplied decode asks for the weights (prefetcht0 of each line of a block, this
    /// many bytes on). One row's products here are compute-heavy enough that the hardware prefetchers alone fall behind:
    /// `bench decode` "by type", products against the same matrices' read, Q8_0 80–89% without, 92% with 4 KiB (8 KiB: 87–96%),
    /// Q6_K 49–57% → 60–67%, Q4_K 72–82% → 75–82% (alternating runs, Zen 3, 2 threads).
    /// </summary>
    private const int PrefetchDistance = 4096;

    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>
    /// y[a·<paramref name="yStride"/> + 16g + r] = row r of group g times activation a of the tile, for
    /// <paramref name="groups"/> consecutive groups from <paramref name="w"/> (<paramref name="blocks"/> file blocks per
    /// row) and every activation of <paramref name="tile"/>; <paramref name="yStride"/> in floats.
    /// </summary>
    public static void Run(DType type, byte* w, int groups, int blocks, Int8Activations.Tile tile, float* y, long yStride)
    {
        long groupBytes = InterleavedLayout.GroupBytes(type, blocks * DTypeInfo.BlockSize(type));
        var sw = stackalloc float[16 * Lanes]; // the group block's row scales, [sub-block][row]
        var mw = stackalloc float[8 * Lanes];  // Q4_K: dmin·m, [sub-block][row]
        if (tile.Acts == 1)
        {
            for (int g = 0; g < groups; g++) DecodeGroup(type, w + g * groupBytes, blocks, tile, sw, mw, y + 16L * g);
            return;
        }
        var acc = stackalloc float[Int8Activations.MaxTileActs * Lanes];
        for (int g = 0; g < groups; g++) BatchGroup(type, w + g * groupBytes, blocks, tile, sw, mw, acc, y + 16L * g, yStride);
    }

    private static void DecodeGroup(DType type, byte* group, int blocks, Int8Activations.Tile tile, float* sw, float* mw, float* y)
    {
        Accs acc = default;
        int blockBytes = type == DType.Q6_K ? InterleavedLayout.Q6_KBody : Lanes * DTypeInfo.BlockBytes(type);
        for (int b = 0; b < blocks; b++)
        {
            byte* blk = group + InterleavedLayout.BlockOffset(type, blocks, b);
            for (int off = 0; off < blockBytes; off += 64) Sse.Prefetch0(blk + PrefetchDistance + off);
            Prepare(type, group, b, blk, sw, mw);
            if (type == DType.Q6_K)
            {
                // mw (Q4_K's) parks the e = 0 products
                acc.A0 = Q6_KStream(blk, b, 0, sw, (byte*)tile.Q, (float*)tile.D, (int*)tile.C, acc.A0, mw);
                acc.A1 = Q6_KStream(blk, b, 1, sw, (byte*)tile.Q, (float*)tile.D, (int*)tile.C, acc.A1, mw);
            }
            else Block<DecodeSlots>(type, blk, b, 1, 0, sw, mw, (byte*)tile.Q, (float*)tile.D, (int*)tile.C, (float*)tile.M, ref acc);
        }
        Vector256.Store(acc.A0, y);
        Vector256.Store(acc.A1, y + 8);
    }

    private static void BatchGroup(DType type, byte* group, int blocks, Int8Activations.Tile tile, float* sw, float* mw, float* acc, float* y, long yStride)
    {
        int m = tile.Acts;
        new Span<float>(acc, m * Lanes).Clear();
        for (int b = 0; b < blocks; b++)
        {
            byte* blk = group + InterleavedLayout.BlockOffset(type, blocks, b);
            Prepare(type, group, b, blk, sw, mw);
            for (int half = 0; half < 2; half++)
            {
                int first = 0, max = MaxChunk(type);
                for (; m - first >= max; first += max)
                    if (max == 8) Chunk<Acts8>(type, blk, b, m, half, first, sw, mw, tile, acc);
                    else Chunk<Acts4>(type, blk, b, m, half, first, sw, mw, tile, acc);
                switch (m - first)
                {
                    case 4: Chunk<Acts4>(type, blk, b, m, half, first, sw, mw, tile, acc); break;
                    case 5: Chunk<Acts5>(type, blk, b, m, half, first, sw, mw, tile, acc); break;
                    case 6: Chunk<Acts6>(type, blk, b, m, half, first, sw, mw, tile, acc); break;
                    case 7: Chunk<Acts7>(type, blk, b, m, half, first, sw, mw, tile, acc); break;
                    case 1: Chunk<Acts1>(type, blk, b, m, half, first, sw, mw, tile, acc); break;
                    case 2: Chunk<Acts2>(type, blk, b, m, half, first, sw, mw, tile, acc); break;
                    case 3: Chunk<Acts3>(type, blk, b, m, half, first, sw, mw, tile, acc); break;
                }
            }
        }
        for (int a = 0; a < m; a++) new ReadOnlySpan<float>(acc + a * Lanes, Lanes).CopyTo(new Span<float>(y + a * yStride, Lanes));
    }

    /// <summary>Activations [first, first + S.Count) of the tile, rows of <paramref name="half"/>, one group block.</summary>
    private static void Chunk<S>(DType type, byte* blk, int b, int m, int half, int first, float* sw, float* mw, Int8Activations.Tile tile, float* accBuf)
        where S : struct, ISlots
    {
        float* p = accBuf + first * Lanes + 8 * half;
        Accs acc = default;
        acc.A0 = Vector256.Load(p);
        if (S.Count > 1) acc.A1 = Vector256.Load(p + Lanes);
        if (S.Count > 2) acc.A2 = Vector256.Load(p + 2 * Lanes);
        if (S.Count > 3) acc.A3 = Vector256.Load(p + 3 * Lanes);
        if (S.Count > 4) acc.A4 = Vector256.Load(p + 4 * Lanes);
        if (S.Count > 5) acc.A5 = Vector256.Load(p + 5 * Lanes);
        if (S.Count > 6) acc.A6 = Vector256.Load(p + 6 * Lanes);
        if (S.Count > 7) acc.A7 = Vector256.Load(p + 7 * Lanes);
        Block<S>(type, blk, b, m, half, sw, mw, (byte*)tile.Q + 32 * first, (float*)tile.D + first, (int*)tile.C + first, (float*)tile.M + first, ref acc);
        Vector256.Store(acc.A0, p);
        if (S.Count > 1) Vector256.Store(acc.A1, p + Lanes);
        if (S.Count > 2) Vector256.Store(acc.A2, p + 2 * Lanes);
        if (S.Count > 3) Vector256.Store(acc.A3, p + 3 * Lanes);
        if (S.Count > 4) Vector256.Store(acc.A4, p + 4 * Lanes);
        if (S.Count > 5) Vector256.Store(acc.A5, p + 5 * Lanes);
        if (S.Count > 6) Vector256.Store(acc.A6, p + 6 * Lanes);
        if (S.Count > 7) Vector256.Store(acc.A7, p + 7 * Lanes);
    }

    // ---- what a call computes at once: slots of 8 rows × one activation, each with its integer sum and accumulator ----

    /// <summary>Up to 8 slots. Decode: slot 0 is rows 0–7, slot 1 rows 8–15, both of the one activation; otherwise slot k is
    /// activation k of the chunk on the rows of one half.</summary>
    private interface ISlots
    {
        static abstract int Count { get; }
        static abstract bool Decode { get; }
    }

    private struct DecodeSlots : ISlots { public static int Count => 2; public static bool Decode => true; }
    private struct Acts1 : ISlots { public static int Count => 1; public static bool Decode => false; }
    private struct Acts2 : ISlots { public static int Count => 2; public static bool Decode => false; }
    private struct Acts3 : ISlots { public static int Count => 3; public static bool Decode => false; }
    private struct Acts4 : ISlots { public static int Count => 4; public static bool Decode => false; }
    private struct Acts5 : ISlots { public static int Count => 5; public static bool Decode => false; }
    private struct Acts6 : ISlots { public static int Count => 6; public static bool Decode => false; }
    private struct Acts7 : ISlots { public static int Count => 7; public static bool Decode => false; }
    private struct Acts8 : ISlots { public static int Count => 8; public static bool Decode => false; }

    private struct Accs { public Vector256<float> A0, A1, A2, A3, A4, A5, A6, A7; }

    /// <summary>Slot k's activation, relative to the chunk's first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Act<S>(int k) where S : struct, ISlots => S.Decode ? 0 : k;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block<S>(DType type, byte* blk, int b, int m, int half, float* sw, float* mw, byte* xq, float* xd, int* xc, float* xm, ref Accs acc)
        where S : struct, ISlots
    {
        switch (type)
        {
            case DType.Q8_0: Q8_0Block<S>(blk, half, sw, xq + 32L * b * m, xd + b * m, ref acc); break;
            case DType.Q4_0: Q4_0Block<S>(blk, half, sw, xq + 32L * b * m, xd + b * m, xc + b * m, ref acc); break;
            case DType.Q4_K when S.Count <= 4: Q4_KBlock<S>(blk, b, m, half, sw, mw, xq, xd, xm, ref acc); break;
            case DType.Q6_K when !S.Decode && S.Count <= 4: Q6_KBlock<S>(blk, b, m, half, sw, xq, xd, xc, ref acc); break;
            default: throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

    // ---- row scales, once per group block for all 16 rows ----

    /// <summary>sw[16j + r] = row r's scale of sub-block j (d, d·sc); Q4_K also mw[16j + r] = dmin·m.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its own compilation: inlined into one caller, the helpers went over the JIT's budget
    private static void Prepare(DType type, byte* group, int b, byte* blk, float* sw, float* mw)
    {
        switch (type)
        {
            case DType.Q8_0:
            case DType.Q4_0:
                Vector256.Store(Halves(blk), sw);
                Vector256.Store(Halves(blk + 16), sw + 8);
                break;
            case DType.Q4_K:
                for (int h = 0; h < 2; h++)
                {
                    var d = Halves(blk + 16 * h);
                    var dmin = Halves(blk + 32 + 16 * h);
                    for (int c = 0; c < 4; c++)
                    {
                        // dword r = row r's sc_2c | m_2c << 6 | sc_2c+1 << 12 | m_2c+1 << 18
                        var t = Triplets(blk + InterleavedLayout.Q4_KScales(c) + 24 * h);
                        var six = Vector256.Create(63);
                        int o = 8 * h + 2 * c * Lanes;
                        Vector256.Store(d * Vector256.ConvertToSingle(t & six), sw + o);
                        Vector256.Store(dmin * Vector256.ConvertToSingle(Vector256.ShiftRightLogical(t, 6) & six), mw + o);
                        Vector256.Store(d * Vector256.ConvertToSingle(Vector256.ShiftRightLogical(t, 12) & six), sw + o + Lanes);
                        Vector256.Store(dmin * Vector256.ConvertToSingle(Vector256.ShiftRightLogical(t, 18) & six), mw + o + Lanes);
                    }
                }
                break;
            case DType.Q6_K:
                for (int h = 0; h < 2; h++)
                {
                    var d = Halves(group + InterleavedLayout.Q6_KDBytes * b + 16 * h);
                    for (int s = 0; s < 16; s++)
                    {
                        var sc = Avx2.ConvertToVector256Int32((sbyte*)blk + InterleavedLayout.Q6_KScales(s) + 8 * h);
                        Vector256.Store(d * Vector256.ConvertToSingle(sc), sw + s * Lanes + 8 * h);
                    }
                }
                break;
        }
    }

    /// <summary>8 f16 values as floats, bit for bit as (float)(Half) (subnormals exact, NaNs quieted) without F16C: the
    /// exponent and mantissa moved into place and rebiased by one exact multiplication by 2^112.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Halves(byte* p)
    {
        var h = Avx2.ConvertToVector256Int32((ushort*)p);
        var o = Vector256.ShiftLeft(h & Vector256.Create(0x7FFF), 13);
        var f = (o.AsSingle() * Vector256.Create(0x77800000).AsSingle()).AsInt32();
        var special = Vector256.GreaterThan(o, Vector256.Create(0x0F7FFFFF)); // exponent 31: infinity or NaN
        var nan = Vector256.GreaterThan(o, Vector256.Create(0x0F800000));
        var sign = Vector256.ShiftLeft(h & Vector256.Create(0x8000), 16);
        return (f | (special & Vector256.Create(0x7F800000)) | (nan & Vector256.Create(0x00400000)) | sign).AsSingle();
    }

    /// <summary>Q4_K: dword r = the 3 bytes at p + 3r (r = 0..7), byte 3 zero: a vpermd brings rows 4L … 4L + 3's 12 bytes
    /// into 128-bit lane L, a vpshufb spreads them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Triplets(byte* p)
    {
        var lanes = Avx2.PermuteVar8x32(Vector256.Load((int*)p), Vector256.Create(0, 1, 2, 2, 3, 4, 5, 5));
        var spread = Vector256.Create((byte)0, 1, 2, 0x80, 3, 4, 5, 0x80, 6, 7, 8, 0x80, 9, 10, 11, 0x80,
                                      0, 1, 2, 0x80, 3, 4, 5, 0x80, 6, 7, 8, 0x80, 9, 10, 11, 0x80);
        return Avx2.Shuffle(lanes.AsByte(), spread).AsInt32();
    }

    // ---- the integer sums ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> X(byte* p) => Avx2.BroadcastScalarToVector256((int*)p).AsSByte();

    /// <summary>Codes (≤ 63) times the activation dword at <paramref name="x"/>: 16 int16 pair sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Pairs(Vector256<byte> codes, byte* x) => Avx2.MultiplyAddAdjacent(codes, X(x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Widen(Vector256<short> pairs) => Avx2.MultiplyAddAdjacent(pairs, Vector256<short>.One);

    /// <summary>Q8_0: Σ q·x over a dword per row, from |q| and q (signed) against x carrying q's sign.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SignedDot(Vector256<byte> abs, Vector256<sbyte> q, byte* x) =>
        Widen(Avx2.MultiplyAddAdjacent(abs, Avx2.Sign(X(x), q)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Low(Vector256<byte> v) => v & Vector256.Create((byte)15);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> High(Vector256<byte> v) => Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & Vector256.Create((byte)15);

    // ---- the fp32 steps, per slot in order ----

    /// <summary>acc_k = fma((float)T_k · sw, dx_k, acc_k); <paramref name="sw"/> is slot 0's scales (decode: slot 1's 8 floats on).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update<S>(ref Accs acc, Vector256<int> t0, Vector256<int> t1, Vector256<int> t2, Vector256<int> t3, float* sw, float* xd)
        where S : struct, ISlots
    {
        var s0 = Vector256.Load(sw);
        acc.A0 = Fma.MultiplyAdd(Vector256.ConvertToSingle(t0) * s0, Avx.BroadcastScalarToVector256(xd), acc.A0);
        if (S.Count > 1) acc.A1 = Fma.MultiplyAdd(Vector256.ConvertToSingle(t1) * (S.Decode ? Vector256.Load(sw + 8) : s0), Avx.BroadcastScalarToVector256(xd + Act<S>(1)), acc.A1);
        if (S.Count > 2) acc.A2 = Fma.MultiplyAdd(Vector256.ConvertToSingle(t2) * s0, Avx.BroadcastScalarToVector256(xd + 2), acc.A2);
        if (S.Count > 3) acc.A3 = Fma.MultiplyAdd(Vector256.ConvertToSingle(t3) * s0, Avx.BroadcastScalarToVector256(xd + 3), acc.A3);
    }

    /// <summary>Slots 4–7 of an 8-activation chunk (Q8_0, Q4_0): as <see cref="Update{S}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UpdateHigh<S>(ref Accs acc, Vector256<int> t4, Vector256<int> t5, Vector256<int> t6, Vector256<int> t7, float* sw, float* xd)
        where S : struct, ISlots
    {
        var s0 = Vector256.Load(sw);
        if (S.Count > 4) acc.A4 = Fma.MultiplyAdd(Vector256.ConvertToSingle(t4) * s0, Avx.BroadcastScalarToVector256(xd + 4), acc.A4);
        if (S.Count > 5) acc.A5 = Fma.MultiplyAdd(Vector256.ConvertToSingle(t5) * s0, Avx.BroadcastScalarToVector256(xd + 5), acc.A5);
        if (S.Count > 6) acc.A6 = Fma.MultiplyAdd(Vector256.ConvertToSingle(t6) * s0, Avx.BroadcastScalarToVector256(xd + 6), acc.A6);
        if (S.Count > 7) acc.A7 = Fma.MultiplyAdd(Vector256.ConvertToSingle(t7) * s0, Avx.BroadcastScalarToVector256(xd + 7), acc.A7);
    }

    /// <summary>Q4_K: acc_k = fma(−mw, dx·Σq_k, acc_k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UpdateMin<S>(ref Accs acc, float* mw, float* xm) where S : struct, ISlots
    {
        var m0 = Vector256.Load(mw);
        acc.A0 = Fma.MultiplyAddNegated(m0, Avx.BroadcastScalarToVector256(xm), acc.A0);
        if (S.Count > 1) acc.A1 = Fma.MultiplyAddNegated(S.Decode ? Vector256.Load(mw + 8) : m0, Avx.BroadcastScalarToVector256(xm + Act<S>(1)), acc.A1);
        if (S.Count > 2) acc.A2 = Fma.MultiplyAddNegated(m0, Avx.BroadcastScalarToVector256(xm + 2), acc.A2);
        if (S.Count > 3) acc.A3 = Fma.MultiplyAddNegated(m0, Avx.BroadcastScalarToVector256(xm + 3), acc.A3);
    }

    // ---- one group block per type; xq/xd/xc/xm point at the chunk's first activation ----

    /// <summary>Q8_0 (544 bytes): vector s holds q[4s..4s+3] + 128 of each row.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its own compilation: inlined into one caller, the helpers went over the JIT's budget
    private static void Q8_0Block<S>(byte* blk, int half, float* sw, byte* xq, float* xd, ref Accs acc) where S : struct, ISlots
    {
        Vector256<int> t0 = default, t1 = default, t2 = default, t3 = default, t4 = default, t5 = default, t6 = default, t7 = default;
        byte* v = blk + 32 + 32 * half;
        var flip = Vector256.Create((byte)0x80);
        for (int s = 0; s < 8; s++, v += 64, xq += 4)
        {
            var q0 = (Vector256.Load(v) ^ flip).AsSByte();
            var a0 = Avx2.Abs(q0);
            t0 += SignedDot(a0, q0, xq);
            if (S.Decode)
            {
                var q1 = (Vector256.Load(v + 32) ^ flip).AsSByte();
                t1 += SignedDot(Avx2.Abs(q1), q1, xq);
            }
            else
            {
                if (S.Count > 1) t1 += SignedDot(a0, q0, xq + 32);
                if (S.Count > 2) t2 += SignedDot(a0, q0, xq + 64);
                if (S.Count > 3) t3 += SignedDot(a0, q0, xq + 96);
                if (S.Count > 4) t4 += SignedDot(a0, q0, xq + 128);
                if (S.Count > 5) t5 += SignedDot(a0, q0, xq + 160);
                if (S.Count > 6) t6 += SignedDot(a0, q0, xq + 192);
                if (S.Count > 7) t7 += SignedDot(a0, q0, xq + 224);
            }
        }
        Update<S>(ref acc, t0, t1, t2, t3, sw + 8 * half, xd);
        UpdateHigh<S>(ref acc, t4, t5, t6, t7, sw + 8 * half, xd);
    }

    /// <summary>Q4_0 (288 bytes): vector j holds code bytes 4j..4j+3 (low nibbles: weights 4j + i, high: 16 + 4j + i);
    /// the integer sum starts from the activation's −8·Σq.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its own compilation: inlined into one caller, the helpers went over the JIT's budget
    private static void Q4_0Block<S>(byte* blk, int half, float* sw, byte* xq, float* xd, int* xc, ref Accs acc) where S : struct, ISlots
    {
        Vector256<short> p0 = default, p1 = default, p2 = default, p3 = default; // 8 pairs of ≤ 15·127·2 each: no overflow
        Vector256<short> p4 = default, p5 = default, p6 = default, p7 = default;
        byte* v = blk + 32 + 32 * half;
        for (int j = 0; j < 4; j++, v += 64, xq += 4)
        {
            var r0 = Vector256.Load(v);
            Vector256<byte> lo0 = Low(r0), hi0 = High(r0);
            p0 += Pairs(lo0, xq) + Pairs(hi0, xq + 16);
            if (S.Decode)
            {
                var r1 = Vector256.Load(v + 32);
                p1 += Pairs(Low(r1), xq) + Pairs(High(r1), xq + 16);
            }
            else
            {
                if (S.Count > 1) p1 += Pairs(lo0, xq + 32) + Pairs(hi0, xq + 48);
                if (S.Count > 2) p2 += Pairs(lo0, xq + 64) + Pairs(hi0, xq + 80);
                if (S.Count > 3) p3 += Pairs(lo0, xq + 96) + Pairs(hi0, xq + 112);
                if (S.Count > 4) p4 += Pairs(lo0, xq + 128) + Pairs(hi0, xq + 144);
                if (S.Count > 5) p5 += Pairs(lo0, xq + 160) + Pairs(hi0, xq + 176);
                if (S.Count > 6) p6 += Pairs(lo0, xq + 192) + Pairs(hi0, xq + 208);
                if (S.Count > 7) p7 += Pairs(lo0, xq + 224) + Pairs(hi0, xq + 240);
            }
        }
        Vector256<int> t0 = Widen(p0) + Vector256.Create(xc[0]), t1 = default, t2 = default, t3 = default;
        if (S.Count > 1) t1 = Widen(p1) + Vector256.Create(xc[Act<S>(1)]);
        if (S.Count > 2) t2 = Widen(p2) + Vector256.Create(xc[2]);
        if (S.Count > 3) t3 = Widen(p3) + Vector256.Create(xc[3]);
        Update<S>(ref acc, t0, t1, t2, t3, sw + 8 * half, xd);
        if (S.Count > 4)
            UpdateHigh<S>(ref acc, Widen(p4) + Vector256.Create(xc[4]), S.Count > 5 ? Widen(p5) + Vector256.Create(xc[5]) : default,
                S.Count > 6 ? Widen(p6) + Vector256.Create(xc[6]) : default, S.Count > 7 ? Widen(p7) + Vector256.Create(xc[7]) : default, sw + 8 * half, xd);
    }

    /// <summary>Q4_K (2304 bytes): vector 8c + t holds code bytes 32c + 4t … + 3, low nibbles sub-block 2c, high 2c + 1; each
    /// vector is read once for both sub-blocks of its pair.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its own compilation: inlined into one caller, the helpers went over the JIT's budget
    private static void Q4_KBlock<S>(byte* blk, int b, int m, int half, float* sw, float* mw, byte* xq, float* xd, float* xm, ref Accs acc)
        where S : struct, ISlots
    {
        var mask = Vector256.Create((byte)15);
        for (int c = 0; c < 4; c++)
        {
            // 8 pairs of ≤ 15·127·2 each per sum: no overflow
            Vector256<short> e0 = default, e1 = default, e2 = default, e3 = default, o0 = default, o1 = default, o2 = default, o3 = default;
            byte* v = blk + 256 + 512 * c + 32 * half;
            long je = (8L * b + 2 * c) * m, jo = je + m;
            byte* xe = xq + 32 * je, xo = xq + 32 * jo;
            for (int t = 0; t < 8; t++, v += 64, xe += 4, xo += 4)
            {
                var r0 = Vector256.Load(v);
                Vector256<byte> lo0 = r0 & mask, hi0 = Vector256.ShiftRightLogical(r0.AsUInt16(), 4).AsByte() & mask;
                if (S.Decode)
                {
                    var r1 = Vector256.Load(v + 32);
                    Vector256<sbyte> x0 = X(xe), x1 = X(xo);
                    e0 += Avx2.MultiplyAddAdjacent(lo0, x0);
                    o0 += Avx2.MultiplyAddAdjacent(hi0, x1);
                    e1 += Avx2.MultiplyAddAdjacent(r1 & mask, x0);
                    o1 += Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(r1.AsUInt16(), 4).AsByte() & mask, x1);
                }
                else
                {
                    e0 += Pairs(lo0, xe); o0 += Pairs(hi0, xo);
                    if (S.Count > 1) { e1 += Pairs(lo0, xe + 32); o1 += Pairs(hi0, xo + 32); }
                    if (S.Count > 2) { e2 += Pairs(lo0, xe + 64); o2 += Pairs(hi0, xo + 64); }
                    if (S.Count > 3) { e3 += Pairs(lo0, xe + 96); o3 += Pairs(hi0, xo + 96); }
                }
            }
            float* swe = sw + Lanes * 2 * c + 8 * half, mwe = mw + Lanes * 2 * c + 8 * half;
            Update<S>(ref acc, Widen(e0), S.Count > 1 ? Widen(e1) : default, S.Count > 2 ? Widen(e2) : default, S.Count > 3 ? Widen(e3) : default, swe, xd + je);
            UpdateMin<S>(ref acc, mwe, xm + je);
            Update<S>(ref acc, Widen(o0), S.Count > 1 ? Widen(o1) : default, S.Count > 2 ? Widen(o2) : default, S.Count > 3 ? Widen(o3) : default, swe + Lanes, xd + jo);
            UpdateMin<S>(ref acc, mwe + Lanes, xm + jo);
        }
    }

    /// <summary>Q6_K (one 3,328-byte block body) for a chunk of activations: sub-block s = 8h + 2qq + e of quarter qq, its
    /// 6-bit codes the low or high nibble of a low-bit vector and bits 2qq..2qq+1 of the high-bit vector moved to bits 4–5;
    /// the integer sum starts from the activation's −32·Σq.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its own compilation: inlined into one caller, the helpers went over the JIT's budget
    private static void Q6_KBlock<S>(byte* body, int b, int m, int half, float* sw, byte* xq, float* xd, int* xc, ref Accs acc)
        where S : struct, ISlots
    {
        for (int h = 0; h < 2; h++)
        {
            // the quarter as a constant, so that its code extraction compiles to straight shifts and masks
            Q6_KQuarter<S, Quarter0>(body, b, m, h, half, sw, xq, xd, xc, ref acc);
            Q6_KQuarter<S, Quarter1>(body, b, m, h, half, sw, xq, xd, xc, ref acc);
            Q6_KQuarter<S, Quarter2>(body, b, m, h, half, sw, xq, xd, xc, ref acc);
            Q6_KQuarter<S, Quarter3>(body, b, m, h, half, sw, xq, xd, xc, ref acc);
        }
    }

    private interface IQuarter { static abstract int Value { get; } }
    private struct Quarter0 : IQuarter { public static int Value => 0; }
    private struct Quarter1 : IQuarter { public static int Value => 1; }
    private struct Quarter2 : IQuarter { public static int Value => 2; }
    private struct Quarter3 : IQuarter { public static int Value => 3; }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Q6_KQuarter<S, Q>(byte* body, int b, int m, int h, int half, float* sw, byte* xq, float* xd, int* xc, ref Accs acc)
        where S : struct, ISlots where Q : struct, IQuarter
    {
        int qq = Q.Value;
        var bits45 = Vector256.Create((byte)0x30);
        long x = (8L * b + 4 * h + qq) * m;
        for (int e = 0; e < 2; e++)
        {
            int s = 8 * h + 2 * qq + e;
            int* c = xc + (16L * b + s) * m;
            Vector256<int> t0 = Vector256.Create(c[0]), t1 = default, t2 = default, t3 = default;
            if (S.Count > 1) t1 = Vector256.Create(c[1]);
            if (S.Count > 2) t2 = Vector256.Create(c[2]);
            if (S.Count > 3) t3 = Vector256.Create(c[3]);
            for (int u2 = 0; u2 < 2; u2++)
            {
                // two steps per int16 sum: pairs of ≤ 63·127·2, four would overflow
                Vector256<short> p0 = default, p1 = default, p2 = default, p3 = default;
                for (int u1 = 0; u1 < 2; u1++)
                {
                    int u = 4 * e + 2 * u2 + u1;
                    var c0 = SixBit(Vector256.Load(body + InterleavedLayout.Q6_KLow(h, 8 * (qq & 1) + u) + 32 * half),
                        Vector256.Load(body + InterleavedLayout.Q6_KHigh(h, u) + 32 * half), qq, bits45);
                    byte* xs = xq + 32 * x + 16 * e + 4 * (2 * u2 + u1);
                    p0 += Pairs(c0, xs);
                    if (S.Count > 1) p1 += Pairs(c0, xs + 32);
                    if (S.Count > 2) p2 += Pairs(c0, xs + 64);
                    if (S.Count > 3) p3 += Pairs(c0, xs + 96);
                }
                t0 += Widen(p0);
                if (S.Count > 1) t1 += Widen(p1);
                if (S.Count > 2) t2 += Widen(p2);
                if (S.Count > 3) t3 += Widen(p3);
            }
            Update<S>(ref acc, t0, t1, t2, t3, sw + Lanes * s + 8 * half, xd + x);
        }
    }

    /// <summary>
    /// Q6_K for one activation (decode), the rows of one half. A step u loads its two low-bit vectors and the high-bit
    /// vector once and builds the codes of all four quarters; steps 0–3 feed sub-blocks e = 0 of the quarters, 4–7 e = 1,
    /// two steps per int16 sum. The e = 0 sums are scaled ((float)T · s_w, a value that does not depend on when it is
    /// computed) and parked in <paramref name="park"/> (32 floats) while e = 1 runs, then the accumulator takes all 8
    /// sub-blocks in ascending order, as the definition does.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // its own compilation: inlined into one caller, the helpers went over the JIT's budget
    private static Vector256<float> Q6_KStream(byte* body, int b, int half, float* sw, byte* xq, float* xd, int* xc, Vector256<float> acc, float* park)
    {
        xq += 256L * b; xd += 8L * b; xc += 16L * b;
        for (int h = 0; h < 2; h++)
        {
            int* c = xc + 8 * h;
            byte* x = xq + 128 * h; // quarter qq at + 32qq
            float* scale = sw + Lanes * 8 * h + 8 * half;
            float* dx = xd + 4 * h;
            Vector256<int> s0 = Vector256.Create(c[0]), s1 = Vector256.Create(c[2]), s2 = Vector256.Create(c[4]), s3 = Vector256.Create(c[6]);
            Q6_KSteps(body, h, half, 0, x, ref s0, ref s1, ref s2, ref s3);
            Q6_KSteps(body, h, half, 2, x + 8, ref s0, ref s1, ref s2, ref s3);
            Vector256.Store(Vector256.ConvertToSingle(s0) * Vector256.Load(scale), park);
            Vector256.Store(Vector256.ConvertToSingle(s1) * Vector256.Load(scale + 2 * Lanes), park + 8);
            Vector256.Store(Vector256.ConvertToSingle(s2) * Vector256.Load(scale + 4 * Lanes), park + 16);
            Vector256.Store(Vector256.ConvertToSingle(s3) * Vector256.Load(scale + 6 * Lanes), park + 24);
            s0 = Vector256.Create(c[1]); s1 = Vector256.Create(c[3]); s2 = Vector256.Create(c[5]); s3 = Vector256.Create(c[7]);
            Q6_KSteps(body, h, half, 4, x + 16, ref s0, ref s1, ref s2, ref s3);
            Q6_KSteps(body, h, half, 6, x + 24, ref s0, ref s1, ref s2, ref s3);
            acc = Fma.MultiplyAdd(Vector256.Load(park), Avx.BroadcastScalarToVector256(dx), acc);
            acc = Fma.MultiplyAdd(Vector256.ConvertToSingle(s0) * Vector256.Load(scale + Lanes), Avx.BroadcastScalarToVector256(dx), acc);
            acc = Fma.MultiplyAdd(Vector256.Load(park + 8), Avx.BroadcastScalarToVector256(dx + 1), acc);
            acc = Fma.MultiplyAdd(Vector256.ConvertToSingle(s1) * Vector256.Load(scale + 3 * Lanes), Avx.BroadcastScalarToVector256(dx + 1), acc);
            acc = Fma.MultiplyAdd(Vector256.Load(park + 16), Avx.BroadcastScalarToVector256(dx + 2), acc);
            acc = Fma.MultiplyAdd(Vector256.ConvertToSingle(s2) * Vector256.Load(scale + 5 * Lanes), Avx.BroadcastScalarToVector256(dx + 2), acc);
            acc = Fma.MultiplyAdd(Vector256.Load(park + 24), Avx.BroadcastScalarToVector256(dx + 3), acc);
            acc = Fma.MultiplyAdd(Vector256.ConvertToSingle(s3) * Vector256.Load(scale + 7 * Lanes), Avx.BroadcastScalarToVector256(dx + 3), acc);
        }
        return acc;
    }

    /// <summary>Q6_K decode, steps u and u + 1 (activation dwords at x, x + 4, quarter qq at + 32qq) into the quarters'
    /// sums through one int16 sum each (2 pairs of ≤ 63·127·2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q6_KSteps(byte* body, int h, int half, int u, byte* x, ref Vector256<int> q0, ref Vector256<int> q1, ref Vector256<int> q2, ref Vector256<int> q3)
    {
        var bits45 = Vector256.Create((byte)0x30);
        var mask = Vector256.Create((byte)15);
        Vector256<short> p0 = default, p1 = default, p2 = default, p3 = default;
        for (int k = 0; k < 2; k++)
        {
            var lowA = Vector256.Load(body + InterleavedLayout.Q6_KLow(h, u + k) + 32 * half);
            var lowB = Vector256.Load(body + InterleavedLayout.Q6_KLow(h, 8 + u + k) + 32 * half);
            var high = Vector256.Load(body + InterleavedLayout.Q6_KHigh(h, u + k) + 32 * half);
            byte* xk = x + 4 * k;
            p0 += Pairs((lowA & mask) | (Vector256.ShiftLeft(high.AsUInt16(), 4).AsByte() & bits45), xk);
            p1 += Pairs((lowB & mask) | (Vector256.ShiftLeft(high.AsUInt16(), 2).AsByte() & bits45), xk + 32);
            p2 += Pairs((Vector256.ShiftRightLogical(lowA.AsUInt16(), 4).AsByte() & mask) | (high & bits45), xk + 64);
            p3 += Pairs((Vector256.ShiftRightLogical(lowB.AsUInt16(), 4).AsByte() & mask) | (Vector256.ShiftRightLogical(high.AsUInt16(), 2).AsByte() & bits45), xk + 96);
        }
        q0 += Widen(p0); q1 += Widen(p1); q2 += Widen(p2); q3 += Widen(p3);
    }

    /// <summary>Q6_K's code of quarter <paramref name="qq"/>: low nibble (quarters 0, 1) or high nibble (2, 3) of
    /// <paramref name="low"/>, | bits 2qq..2qq+1 of <paramref name="high"/> at bits 4–5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> SixBit(Vector256<byte> low, Vector256<byte> high, int qq, Vector256<byte> bits45)
    {
        var l = qq < 2 ? Low(low) : High(low);
        var hb = qq switch
        {
            0 => Vector256.ShiftLeft(high.AsUInt16(), 4).AsByte(),
            1 => Vector256.ShiftLeft(high.AsUInt16(), 2).AsByte(),
            2 => high,
            _ => Vector256.ShiftRightLogical(high.AsUInt16(), 2).AsByte(),
        };
        return l | (hb & bits45);
    }
}
