using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FrSpec.Numerics.Quantized;

/// <summary>
/// Activation rows quantized for the int8 products of the fast precision, laid out for the kernels. Each row is
/// quantized per block of 32 as ggml quantizes Q8_0 (dx = max|x| / 127 in fp32, q = round(x / dx) with halves away from
/// zero), and the rows are split into tiles of at most <see cref="MaxTileActs"/>; within a tile the data is interleaved
/// by block so a kernel reaches every row of the tile from one pointer with constant offsets:
/// <list type="bullet">
/// <item>Q: [block][row][32] signed bytes;</item>
/// <item>D: [block][row] fp32 dx;</item>
/// <item>C: the integer correction of the weight type's unsigned storage, [sub-block][row] int32: −128·Σq per 32 (Q8_0,
/// stored q + 128), −8·Σq per 32 (Q4_0, codes 0..15 for −8..7), −32·Σq per 16 (Q6_K, codes 0..63 for −32..31), none
/// for Q4_K;</item>
/// <item>M (Q4_K only): [block][row] fp32 dx·Σq, what the sub-block minimum multiplies.</item>
/// </list>
/// One instance per thread, reused: quantizing allocates only when a call needs more room than any before.
/// </summary>
internal sealed unsafe class Int8Activations : IRangeJob
{
    public const int MaxTileActs = 16;
    private const int Block = 32;

    private byte[] _buffer = [];
    private byte* _base;
    private readonly List<Tile> _tiles = new();

    public readonly record struct Tile(int First, int Acts, nint Q, nint D, nint C, nint M);

    public IReadOnlyList<Tile> Tiles => _tiles;

    /// <summary>Rows of a batch split into tiles of at most <see cref="MaxTileActs"/>, as even as possible (a narrow last
    /// tile would run far below the kernels' peak).</summary>
    public static int TileCount(int n) => (n + MaxTileActs - 1) / MaxTileActs;

    // the current call, for the blocks spread over the pool
    private float* _x;
    private int _cols, _blocks, _corrPerBlock, _corrScale;
    private bool _mins;

    /// <summary>Fewest blocks (of every row of a tile) in a pool chunk: about 1.6 µs of work for a tile of 16 rows.</summary>
    private const int MinChunkBlocks = 8;

    /// <summary>Quantizes rows x[0..n) of <paramref name="cols"/> for products with <paramref name="weights"/>-type
    /// matrices, on <paramref name="pool"/>'s threads when there is enough work.</summary>
    public void Quantize(WorkerPool pool, ReadOnlySpan<float> x, int n, int cols, DType weights)
    {
        int blocks = cols / Block, tiles = TileCount(n);
        int corrPerBlock = weights switch { DType.Q6_K => 2, DType.Q4_K => 0, _ => 1 };
        bool mins = weights == DType.Q4_K;
        // per activation row: 32 bytes + 4 (dx) + 4·corrPerBlock + (mins ? 4 : 0) per block, each array 64-byte aligned
        long perRow = (long)blocks * (Block + 4 + 4 * corrPerBlock + (mins ? 4 : 0));
        long need = n * perRow + tiles * 4 * 64L + 64;
        if (_buffer.Length < need)
        {
            _buffer = GC.AllocateUninitializedArray<byte>((int)Math.Max(need, 1 << 16), pinned: true);
            _base = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_buffer));
        }
        byte* p = (byte*)(((nint)_base + 63) & ~(nint)63);
        _tiles.Clear();
        for (int t = 0, first = 0; t < tiles; t++)
        {
            int m = (n - first) / (tiles - t);
            byte* q = p; p += Align(blocks * m * Block);
            float* d = (float*)p; p += Align(blocks * m * 4);
            int* c = (int*)p; p += Align(blocks * m * 4 * corrPerBlock);
            float* mm = (float*)p; p += Align(mins ? blocks * m * 4 : 0);
            _tiles.Add(new Tile(first, m, (nint)q, (nint)d, (nint)c, (nint)mm));
            first += m;
        }
        fixed (float* px = x)
        {
            _x = px; _cols = cols; _blocks = blocks; _corrPerBlock = corrPerBlock; _mins = mins;
            _corrScale = weights switch { DType.Q8_0 => -128, DType.Q4_0 => -8, DType.Q6_K => -32, _ => 0 };
            if (n > 1 && (long)n * cols >= 1 << 15) pool.For(tiles * blocks, this, MinChunkBlocks);
            else Execute(0, tiles * blocks);
            _x = null;
        }
    }

    /// <summary>
    /// Quantizes blocks [start, end) of the tiles, each for every row of its tile (index u: tile u / blocks, block
    /// u % blocks). The pool's threads split a call by blocks, not by rows: a tile's rows share cache lines (the layout
    /// interleaves them block by block), and two threads writing different rows of the same lines made a 16-row call
    /// slower on both threads than on one (16 rows of 8,192 columns for Q8_0: 151 µs against 62 on one thread; split by
    /// blocks, 32 µs on two; 2,048 columns: 26–38 µs, now 8).
    /// </summary>
    public void Execute(int start, int end)
    {
        for (int u = start; u < end; u++)
        {
            int t = u / _blocks, b = u - t * _blocks;
            var tile = _tiles[t];
            int m = tile.Acts;
            float* x = _x + (long)tile.First * _cols + b * Block;
            sbyte* q = (sbyte*)tile.Q + (long)b * m * Block;
            float* d = (float*)tile.D + b * m, mins = (float*)tile.M + b * m;
            int* c = (int*)tile.C + b * m * _corrPerBlock;
            for (int j = 0; j < m; j++, x += _cols)
            {
                float dx = QuantizeBlock(x, q + j * Block, out int s0, out int s1);
                d[j] = dx;
                if (_corrPerBlock == 1) c[j] = _corrScale * (s0 + s1);
                else if (_corrPerBlock == 2) { c[j] = _corrScale * s0; c[m + j] = _corrScale * s1; }
                if (_mins) mins[j] = dx * (s0 + s1);
            }
        }
    }

    private static long Align(long bytes) => (bytes + 63) & ~63L;

    /// <summary>One block of 32: returns dx, writes q and the sums of its two halves. The vector paths give the scalar
    /// path's bits (tested).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float QuantizeBlock(float* x, sbyte* q, out int sum0, out int sum1) =>
        Avx512F.IsSupported ? QuantizeBlock512(x, q, out sum0, out sum1)
        : Vector256.IsHardwareAccelerated ? QuantizeBlock256(x, q, out sum0, out sum1)
        : QuantizeBlockScalar(x, q, out sum0, out sum1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float QuantizeBlock256(float* x, sbyte* q, out int sum0, out int sum1)
    {
        var a0 = Vector256.Load(x); var a1 = Vector256.Load(x + 8); var a2 = Vector256.Load(x + 16); var a3 = Vector256.Load(x + 24);
        var m8 = Vector256.Max(Vector256.Max(Vector256.Abs(a0), Vector256.Abs(a1)), Vector256.Max(Vector256.Abs(a2), Vector256.Abs(a3)));
        var m4 = Vector128.Max(m8.GetLower(), m8.GetUpper());
        var m2 = Vector128.Max(m4, Vector128.Shuffle(m4, Vector128.Create(2, 3, 0, 1)));
        float amax = MathF.Max(m2.ToScalar(), m2.GetElement(1));
        float dx = amax / 127f, id = dx != 0 ? 1f / dx : 0f;
        var idv = Vector256.Create(id);
        var r0 = RoundAway(a0 * idv); var r1 = RoundAway(a1 * idv); var r2 = RoundAway(a2 * idv); var r3 = RoundAway(a3 * idv);
        sum0 = Vector256.Sum(r0 + r1);
        sum1 = Vector256.Sum(r2 + r3);
        Vector256.Narrow(Vector256.Narrow(r0, r1), Vector256.Narrow(r2, r3)).Store(q);
        return dx;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float QuantizeBlock512(float* x, sbyte* q, out int sum0, out int sum1)
    {
        var a0 = Vector512.Load(x); var a1 = Vector512.Load(x + 16);
        var m16 = Vector512.Max(Vector512.Abs(a0), Vector512.Abs(a1));
        var m8 = Vector256.Max(m16.GetLower(), m16.GetUpper());
        var m4 = Vector128.Max(m8.GetLower(), m8.GetUpper());
        var m2 = Vector128.Max(m4, Vector128.Shuffle(m4, Vector128.Create(2, 3, 0, 1)));
        float amax = MathF.Max(m2.ToScalar(), m2.GetElement(1));
        float dx = amax / 127f, id = dx != 0 ? 1f / dx : 0f;
        var idv = Vector512.Create(id);
        var r0 = RoundAway(a0 * idv); var r1 = RoundAway(a1 * idv);
        sum0 = Vector512.Sum(r0);
        sum1 = Vector512.Sum(r1);
        Avx512F.ConvertToVector128SByte(r0).Store(q);
        Avx512F.ConvertToVector128SByte(r1).Store(q + 16);
        return dx;
    }

    private static Vector512<int> RoundAway(Vector512<float> v)
    {
        var a = Vector512.Abs(v);
        var t = Vector512.Truncate(a);
        var r = t + (Vector512.GreaterThanOrEqual(a - t, Vector512.Create(0.5f)) & Vector512.Create(1f));
        return Vector512.ConvertToInt32(Vector512.CopySign(r, v));
    }

    /// <summary>Round half away from zero, exactly as MathF.Round(v, MidpointRounding.AwayFromZero) (|v| ≤ 127 here).</summary>
    private static Vector256<int> RoundAway(Vector256<float> v)
    {
        var a = Vector256.Abs(v);
        var t = Vector256.Truncate(a);
        var r = t + (Vector256.GreaterThanOrEqual(a - t, Vector256.Create(0.5f)) & Vector256.Create(1f));
        return Vector256.ConvertToInt32(Vector256.CopySign(r, v));
    }

    internal static float QuantizeBlockScalar(float* x, sbyte* q, out int sum0, out int sum1)
    {
        float amax = 0;
        for (int i = 0; i < Block; i++) amax = MathF.Max(amax, MathF.Abs(x[i]));
        float dx = amax / 127f, id = dx != 0 ? 1f / dx : 0f;
        sum0 = sum1 = 0;
        for (int i = 0; i < Block; i++)
        {
            q[i] = (sbyte)MathF.Round(x[i] * id, MidpointRounding.AwayFromZero);
            if (i < 16) sum0 += q[i]; else sum1 += q[i];
        }
        return dx;
    }
}
