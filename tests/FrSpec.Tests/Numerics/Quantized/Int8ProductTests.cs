using System.Runtime.InteropServices;
using FrSpec.Numerics;
using FrSpec.Numerics.CodeGen;
using FrSpec.Numerics.Quantized;

namespace FrSpec.Tests.Numerics.Quantized;

/// <summary>
/// The fast precision's int8 products for Q8_0, Q4_0, Q4_K and Q6_K on every kernel path (generated vpdpbusd, managed
/// AVX-512BW and AVX2 vpmaddubsw, portable; AVX-VNNI where the CPU has it), bit for bit against a scalar definition
/// written from the file's block layout; the interleaved layout's round trip; batch invariance; and the exact precision
/// computing with the decoded weights.
/// </summary>
public unsafe class Int8ProductTests
{
    public static readonly DType[] AllTypes = [DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K];

    public static TheoryData<string, DType> PathsAndTypes()
    {
        var d = new TheoryData<string, DType>();
        foreach (var p in KernelPaths.Names.Append("avxvnni"))
            foreach (var t in AllTypes) d.Add(p, t);
        return d;
    }

    public static TheoryData<DType> Types() => new(AllTypes);

    private static Compute? PathCompute(string path) => path == "avxvnni"
        ? MatMul.IsSupported(Isa.AvxVnni) ? Compute.Create(EngineOptions.Default with { Isa = Isa.AvxVnni, CodeGeneration = false, Precision = Precision.Fast }) : null
        : KernelPaths.Get(path, Precision.Fast);

    private static float[] Gaussian(Random r, int count, double scale = 1) =>
        Enumerable.Range(0, count).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble()) * scale)).ToArray();

    /// <summary>File-layout rows of a matrix (what a GGUF stores), and the engine's interleaved copy built from them.</summary>
    private static (byte[] File, WeightMatrix W) Matrix(DType type, int rows, int cols, Random r)
    {
        var values = Gaussian(r, rows * cols, 0.05);
        int rb = (int)DTypeInfo.RowBytes(type, cols);
        var file = new byte[rows * rb];
        fixed (byte* f = file)
        {
            for (int i = 0; i < rows; i++) FrSpec.Numerics.Convert.FromFloat(values.AsSpan(i * cols, cols), type, f + i * rb);
            var dst = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)WeightMatrix.ByteCountOf(type, rows, cols), 64);
            var w = WeightMatrix.FromFileRows(type, rows, cols, f, null, dst);
            return (file, new WeightMatrix(type, rows, cols, w.Data, owned: true));
        }
    }

    /// <summary>
    /// The fast precision's definition for one (row, activation) pair, from the file's bytes: activations quantized per
    /// 32 (dx = max|x| / 127, q = round half away from zero); per sub-block the exact integer sum T of code·q (codes
    /// centred: Q4_0 − 8, Q6_K − 32), then acc = fma((float)T·s, dx, acc) with s = d (Q8_0, Q4_0) or d·sc (Q4_K, Q6_K),
    /// and for Q4_K acc = fma(−dmin·m, dx·Σq, acc).
    /// </summary>
    private static float Reference(DType type, byte* row, float[] x, int xOffset, int cols)
    {
        int blocks32 = cols / 32;
        var q = new int[cols];
        var dx = new float[blocks32];
        for (int b = 0; b < blocks32; b++)
        {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = MathF.Max(amax, MathF.Abs(x[xOffset + 32 * b + j]));
            dx[b] = amax / 127f;
            float id = dx[b] != 0 ? 1f / dx[b] : 0f;
            for (int j = 0; j < 32; j++) q[32 * b + j] = (int)MathF.Round(x[xOffset + 32 * b + j] * id, MidpointRounding.AwayFromZero);
        }
        float acc = 0;
        switch (type)
        {
            case DType.Q8_0:
                for (int b = 0; b < blocks32; b++)
                {
                    byte* blk = row + 34 * b;
                    int t = 0;
                    for (int j = 0; j < 32; j++) t += (sbyte)blk[2 + j] * q[32 * b + j];
                    acc = MathF.FusedMultiplyAdd((float)t * (float)*(Half*)blk, dx[b], acc);
                }
                break;
            case DType.Q4_0:
                for (int b = 0; b < blocks32; b++)
                {
                    byte* blk = row + 18 * b;
                    int t = 0;
                    for (int j = 0; j < 32; j++) t += ((j < 16 ? blk[2 + j] & 15 : blk[2 + j - 16] >> 4) - 8) * q[32 * b + j];
                    acc = MathF.FusedMultiplyAdd((float)t * (float)*(Half*)blk, dx[b], acc);
                }
                break;
            case DType.Q4_K:
                for (int sb = 0; sb < cols / 256; sb++)
                {
                    byte* blk = row + 144 * sb;
                    float d = (float)*(Half*)blk, dmin = (float)*(Half*)(blk + 2);
                    for (int j = 0; j < 8; j++)
                    {
                        FrSpec.Numerics.Quantized.Q4_K.ScaleMin(blk + 4, j, out int sc, out int m);
                        int b = 8 * sb + j, t = 0, sum = 0;
                        for (int l = 0; l < 32; l++)
                        {
                            byte packed = blk[16 + 32 * (j / 2) + l];
                            t += ((j & 1) == 0 ? packed & 15 : packed >> 4) * q[32 * b + l];
                            sum += q[32 * b + l];
                        }
                        acc = MathF.FusedMultiplyAdd((float)t * (d * sc), dx[b], acc);
                        acc = MathF.FusedMultiplyAdd(-(dmin * m), dx[b] * sum, acc);
                    }
                }
                break;
            case DType.Q6_K:
                for (int sb = 0; sb < cols / 256; sb++)
                {
                    byte* blk = row + 210 * sb;
                    float d = (float)*(Half*)(blk + 208);
                    for (int s = 0; s < 16; s++)
                    {
                        int t = 0;
                        for (int l = 0; l < 16; l++) t += (FrSpec.Numerics.Quantized.Q6_K.Code(blk, 16 * s + l) - 32) * q[256 * sb + 16 * s + l];
                        acc = MathF.FusedMultiplyAdd((float)t * (d * ((sbyte*)blk)[192 + s]), dx[8 * sb + s / 2], acc);
                    }
                }
                break;
        }
        return acc;
    }

    /// <summary>Batch shapes (activation rows, weight rows, columns); the last of each list quantizes its activations on the
    /// pool (n · cols ≥ 2^15), several tiles split by blocks among the threads.</summary>
    private static IEnumerable<(int N, int Rows, int Cols)> Shapes(DType type) => DTypeInfo.BlockSize(type) == 32
        ? [(1, 1, 32), (1, 17, 64), (2, 15, 96), (3, 33, 32), (9, 16, 320), (1, 67, 2048), (16, 40, 256), (17, 5, 64), (33, 20, 1024)]
        : [(1, 1, 256), (1, 17, 512), (2, 15, 256), (4, 19, 768), (5, 7, 256), (9, 33, 256), (1, 64, 2048), (16, 18, 512), (17, 3, 256), (20, 9, 2048)];

    [Theory, MemberData(nameof(PathsAndTypes))]
    public void BitIdenticalToTheScalarDefinitionOnAwkwardShapes(string path, DType type)
    {
        var compute = PathCompute(path);
        if (compute == null || (path == "generated" && compute.Generated?.Int8 == null)) return; // not on this CPU
        var r = new Random((int)type * 7 + path.Length);
        foreach (var (n, rows, cols) in Shapes(type))
        {
            var (file, w) = Matrix(type, rows, cols, r);
            using var _ = w;
            var x = Gaussian(r, n * cols, 2);
            if (n > 1) for (int c = 0; c < cols; c++) x[cols + c] = (c % 7 - 3) * 0.5f; // exact halves after scaling
            var bias = Gaussian(r, rows);
            var y = new float[n * rows];
            MatMul.Multiply(compute, x, n, w, y, bias);
            int rb = (int)DTypeInfo.RowBytes(type, cols);
            fixed (byte* f = file)
                for (int i = 0; i < n; i++)
                    for (int o = 0; o < rows; o++)
                    {
                        float want = Reference(type, f + o * rb, x, i * cols, cols) + bias[o];
                        Assert.True(BitConverter.SingleToInt32Bits(want) == BitConverter.SingleToInt32Bits(y[i * rows + o]),
                            $"{path} {type} n={n} rows={rows} cols={cols} [{i},{o}]: {y[i * rows + o]} vs {want}");
                    }
        }
    }

    [Theory, MemberData(nameof(PathsAndTypes))]
    public void RowsAreBitIdenticalAloneOrWithUpTo63Others(string path, DType type)
    {
        var compute = PathCompute(path);
        if (compute == null) return;
        var r = new Random(10 + (int)type);
        int rows = 37, cols = DTypeInfo.BlockSize(type) == 32 ? 160 : 512;
        var (_, w) = Matrix(type, rows, cols, r);
        using var _w = w;
        var x = Gaussian(r, 64 * cols);
        var single = new float[64 * rows];
        for (int i = 0; i < 64; i++) MatMul.Multiply(compute, x.AsSpan(i * cols, cols), 1, w, single.AsSpan(i * rows, rows));
        foreach (int n in new[] { 2, 3, 4, 5, 8, 9, 16, 64 })
        {
            var y = new float[n * rows];
            MatMul.Multiply(compute, x, n, w, y);
            Assert.Equal(single.AsSpan(0, n * rows).ToArray(), y);
        }
    }

    [Theory, MemberData(nameof(PathsAndTypes))]
    public void BatchesGiveTheSameBitsWhateverThePoolChunks(string path, DType type)
    {
        var compute = PathCompute(path);
        if (compute == null) return;
        var r = new Random(20 + (int)type);
        int rows = 165, cols = DTypeInfo.BlockSize(type) == 32 ? 160 : 512; // 11 groups, the last one padded
        var (_, w) = Matrix(type, rows, cols, r);
        using var _w = w;
        int min = QuantizedProducts.BatchMinChunk, chunks = QuantizedProducts.BatchChunksPerThread;
        try
        {
            foreach (int n in new[] { 5, 16, 20 })
            {
                var x = Gaussian(r, n * cols);
                var expected = new float[n * rows];
                MatMul.Multiply(compute, x, n, w, expected);
                foreach (var (m, c) in new[] { (1, 1), (1, 64), (4, 2), (100, 4) })
                {
                    QuantizedProducts.BatchMinChunk = m;
                    QuantizedProducts.BatchChunksPerThread = c;
                    var y = new float[n * rows];
                    MatMul.Multiply(compute, x, n, w, y);
                    Assert.True(expected.AsSpan().SequenceEqual(y), $"{path} {type} n={n} min={m} chunks={c}");
                }
                QuantizedProducts.BatchMinChunk = min;
                QuantizedProducts.BatchChunksPerThread = chunks;
            }
        }
        finally
        {
            QuantizedProducts.BatchMinChunk = min;
            QuantizedProducts.BatchChunksPerThread = chunks;
        }
    }

    public static TheoryData<string> Paths() => new(KernelPaths.Names.Append("avxvnni"));

    public static TheoryData<string, DType> PathsAndDecodeTypes()
    {
        var d = new TheoryData<string, DType>();
        foreach (var p in KernelPaths.Names.Append("avxvnni"))
            foreach (var t in new[] { DType.Q4_0, DType.Q4_K }) d.Add(p, t);
        return d;
    }

    /// <summary>
    /// Q6_K's group layout (d values in front, then block bodies read front to back) on every row count 1–67 (full groups,
    /// one short group, 1–15 padding rows), activation counts 1, 2, 8, 16 and 17 (decode, the batched tiles, a 1-row tail
    /// tile), an even and an odd number of blocks per row (64-byte-aligned groups and groups straddling lines), and
    /// gathered row subsets as FR-Spec's draft heads use them (rows in the subset's order, repeated rows): every result
    /// bit-identical to the scalar definition on the file's bytes.
    /// </summary>
    [Theory, MemberData(nameof(Paths))]
    public void Q6_KIsBitIdenticalOnEveryRowCountTailAndSubset(string path) => EveryRowCountTailAndSubset(path, DType.Q6_K, [512, 768]);

    /// <summary>The same for Q4_0 and Q4_K, whose one-row (decode) kernels have their own instruction sequences
    /// (high nibbles masked in place, sums split and joined exactly).</summary>
    [Theory, MemberData(nameof(PathsAndDecodeTypes))]
    public void Q4DecodeIsBitIdenticalOnEveryRowCountTailAndSubset(string path, DType type) =>
        EveryRowCountTailAndSubset(path, type, type == DType.Q4_0 ? [256, 288] : [512, 768]);

    private static void EveryRowCountTailAndSubset(string path, DType type, int[] widths)
    {
        var compute = PathCompute(path);
        if (compute == null || (path == "generated" && compute.Generated?.Int8 == null)) return; // not on this CPU
        var r = new Random(67 + (int)type);
        foreach (int cols in widths)
        {
            const int maxRows = 67;
            int rb = (int)DTypeInfo.RowBytes(type, cols);
            var values = Gaussian(r, maxRows * cols, 0.05);
            var file = new byte[maxRows * rb];
            var x = Gaussian(r, 17 * cols, 2);
            fixed (byte* f = file)
            {
                for (int i = 0; i < maxRows; i++) FrSpec.Numerics.Convert.FromFloat(values.AsSpan(i * cols, cols), type, f + i * rb);
                for (int rows = 1; rows <= maxRows; rows++)
                {
                    using var w = WeightMatrix.Allocate(type, rows, cols);
                    WeightMatrix.FromFileRows(type, rows, cols, f, null, (byte*)w.Data);
                    foreach (int n in new[] { 1, 2, 8, 16, 17 })
                        CheckAgainstReference(compute, w, f, rb, Enumerable.Range(0, rows).ToArray(), x, n, $"{path} {type} rows={rows} cols={cols} n={n}");
                }
                using var all = WeightMatrix.Allocate(type, maxRows, cols);
                WeightMatrix.FromFileRows(type, maxRows, cols, f, null, (byte*)all.Data);
                foreach (int size in new[] { 1, 16, 17, 40 })
                {
                    var subset = Enumerable.Range(0, size).Select(_ => r.Next(maxRows)).ToArray();
                    using var head = all.GatherRows(subset);
                    foreach (int n in new[] { 1, 4, 16 })
                        CheckAgainstReference(compute, head, f, rb, subset, x, n, $"{path} {type} subset of {size} cols={cols} n={n}");
                }
            }
        }
    }

    /// <summary>
    /// Q4_K's scales and mins are re-packed at load (3 bytes per row per sub-block pair) and decoded by their own
    /// instructions in the one-row and the batched kernels. Blocks of random bytes (every 6-bit scale and min, 0 and 63
    /// included, next to each other in every combination the file's packing allows) on every path, for decode and batch
    /// tiles, 1–33 rows: bit-identical to the definition, and the layout gives back the file's bytes.
    /// </summary>
    [Theory, MemberData(nameof(Paths))]
    public void Q4_KRandomScalesAndMinsAreBitIdentical(string path)
    {
        var compute = PathCompute(path);
        if (compute == null || (path == "generated" && compute.Generated?.Int8 == null)) return;
        var r = new Random(4242);
        const int cols = 768, maxRows = 33;
        int rb = (int)DTypeInfo.RowBytes(DType.Q4_K, cols);
        var file = new byte[maxRows * rb];
        r.NextBytes(file);
        for (int b = 0; b < file.Length / 144; b++)
        {
            // finite d and dmin of a realistic size; everything else (scales, mins, codes) stays random
            BitConverter.TryWriteBytes(file.AsSpan(144 * b), (Half)(0.001 + 0.01 * r.NextDouble()));
            BitConverter.TryWriteBytes(file.AsSpan(144 * b + 2), (Half)(0.001 + 0.01 * r.NextDouble()));
        }
        for (int b = 0; b < 4; b++) file.AsSpan(144 * b + 4, 12).Fill(0xFF); // every scale and min 63
        var x = Gaussian(r, 9 * cols, 2);
        fixed (byte* f = file)
            foreach (int rows in new[] { 1, 16, 33 })
            {
                using var w = WeightMatrix.Allocate(DType.Q4_K, rows, cols);
                WeightMatrix.FromFileRows(DType.Q4_K, rows, cols, f, null, (byte*)w.Data);
                foreach (int n in new[] { 1, 3, 5, 9 })
                    CheckAgainstReference(compute, w, f, rb, Enumerable.Range(0, rows).ToArray(), x, n, $"{path} Q4_K random bytes rows={rows} n={n}");
                var back = new byte[rb];
                fixed (byte* pb = back)
                    for (int o = 0; o < rows; o++)
                    {
                        InterleavedLayout.UnpackRow(DType.Q4_K, cols, (byte*)w.Data, o, pb);
                        Assert.Equal(file.AsSpan(o * rb, rb).ToArray(), back);
                    }
            }
    }

    /// <summary>y = x·Wᵀ for n rows of x, against the definition on file row <paramref name="fileRows"/>[o] for output o.</summary>
    private static void CheckAgainstReference(Compute compute, WeightMatrix w, byte* file, int rowBytes, int[] fileRows, float[] x, int n, string what)
    {
        var y = new float[n * w.Rows];
        MatMul.Multiply(compute, x, n, w, y);
        for (int i = 0; i < n; i++)
            for (int o = 0; o < w.Rows; o++)
            {
                float want = Reference(w.Type, file + (long)fileRows[o] * rowBytes, x, i * w.Cols, w.Cols);
                Assert.True(BitConverter.SingleToInt32Bits(want) == BitConverter.SingleToInt32Bits(y[i * w.Rows + o]), $"{what} [{i},{o}]: {y[i * w.Rows + o]} vs {want}");
            }
    }

    /// <summary>
    /// Every faster path (the AVX2 kernel above all: decode's one-activation kernel over runs of groups and the batched
    /// chunks of up to 4 activations) gives the portable path's bits, for every activation count 1–67 (tiles of 1–16,
    /// chunk tails of 1–3), row counts that leave padding rows, several blocks per row, random block bytes (every code,
    /// scale and min the format allows, negative Q6_K scales included) and the extremes of the integer sums' int16 steps:
    /// rows of all-15 / all-63 / ±128 codes against activations quantized to ±127 everywhere.
    /// </summary>
    [Theory, MemberData(nameof(PathsAndTypes))]
    public void EveryPathGivesThePortableBitsForEveryActivationCount(string path, DType type)
    {
        var compute = PathCompute(path);
        if (path == "portable" || compute == null || (path == "generated" && compute.Generated?.Int8 == null)) return;
        var portable = PathCompute("portable")!;
        var r = new Random(31 + (int)type);
        int cols = DTypeInfo.BlockSize(type) == 32 ? 96 : 768, rb = (int)DTypeInfo.RowBytes(type, cols);
        const int maxRows = 50, maxActs = 67;
        var file = RandomBlocks(type, maxRows, cols, r);
        // rows 0–2: every byte but the block scales 0xFF, 0x80, 0x7F (codes 15 / 63 / −1, −128, 127; scales and mins 63)
        byte[] fills = [0xFF, 0x80, 0x7F];
        for (int row = 0; row < fills.Length; row++)
            for (int b = 0; b < cols / DTypeInfo.BlockSize(type); b++)
            {
                var blk = file.AsSpan(row * rb + b * DTypeInfo.BlockBytes(type), DTypeInfo.BlockBytes(type));
                var (scaleAt, scaleBytes) = ScaleBytes(type);
                for (int i = 0; i < blk.Length; i++) if (i < scaleAt || i >= scaleAt + scaleBytes) blk[i] = fills[row];
            }
        var x = Gaussian(r, maxActs * cols, 2);
        for (int c = 0; c < cols; c++) { x[c] = 1; x[cols + c] = -1; x[2 * cols + c] = c % 2 == 0 ? 3 : -3; }
        fixed (byte* f = file)
            foreach (int rows in new[] { 1, 15, 16, 17, 37, 50 })
            {
                using var w = WeightMatrix.Allocate(type, rows, cols);
                WeightMatrix.FromFileRows(type, rows, cols, f, null, (byte*)w.Data);
                var counts = rows == 37 ? Enumerable.Range(1, maxActs) : [1, 2, 3, 4, 5, 8, 16, 17, 33];
                foreach (int n in counts)
                {
                    var want = new float[n * rows];
                    var got = new float[n * rows];
                    MatMul.Multiply(portable, x.AsSpan(0, n * cols), n, w, want);
                    MatMul.Multiply(compute, x.AsSpan(0, n * cols), n, w, got);
                    for (int i = 0; i < want.Length; i++)
                        Assert.True(BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(got[i]),
                            $"{path} {type} rows={rows} n={n} [{i / rows},{i % rows}]: {got[i]} vs portable {want[i]}");
                }
            }
    }

    /// <summary>
    /// The generated kernels walk a run of groups themselves (Q8_0 tiles of 2 or more rows two groups at a time, an odd
    /// last group alone): every run of 1–5 groups, every tile of 1–16 rows and 1, 3 or 8 blocks per row, the kernel called
    /// directly (the pool's chunks decide which runs MatMul hands it), each group bit-identical to the reference kernel
    /// and nothing written past the run.
    /// </summary>
    [Theory, MemberData(nameof(Types))]
    public void GeneratedKernelsGiveTheReferenceBitsOnEveryRunOfGroups(DType type)
    {
        if (Compute.Default.Generated?.Int8 is not { } kernels) return; // not on this CPU
        var r = new Random(50 + (int)type);
        const int maxGroups = 5, lanes = InterleavedLayout.GroupRows;
        var tiles = new Int8Activations();
        var scratch = new float[Int8Activations.MaxTileActs * lanes];
        foreach (int blocks in new[] { 1, 3, 8 })
        {
            int cols = blocks * DTypeInfo.BlockSize(type), rows = maxGroups * lanes;
            var (_, w) = Matrix(type, rows, cols, r);
            using var _w = w;
            long groupBytes = InterleavedLayout.GroupBytes(type, cols);
            for (int acts = 1; acts <= Int8Activations.MaxTileActs; acts++)
            {
                tiles.Quantize(Compute.Default.Pool, Gaussian(r, acts * cols, 2), acts, cols, type);
                var tile = tiles.Tiles[0];
                for (int groups = 1; groups <= maxGroups; groups++)
                {
                    var y = new float[acts * rows];
                    fixed (float* py = y, ps = scratch)
                    {
                        Int8DotArgs args;
                        args.W = w.Data; args.Groups = groups; args.Blocks = blocks;
                        args.XQ = tile.Q; args.XD = tile.D; args.XC = tile.C; args.XM = tile.M;
                        args.Y = (nint)py; args.YStride = 4L * rows;
                        kernels.Kernel(type, acts)(&args);
                        for (int g = 0; g < maxGroups; g++)
                        {
                            if (g < groups) ManagedInt8Kernel.Group(type, (byte*)w.Data + g * groupBytes, blocks, tile, ps);
                            for (int a = 0; a < acts; a++)
                                for (int lane = 0; lane < lanes; lane++)
                                {
                                    float want = g < groups ? scratch[a * lanes + lane] : 0, got = y[a * rows + g * lanes + lane];
                                    Assert.True(BitConverter.SingleToInt32Bits(want) == BitConverter.SingleToInt32Bits(got),
                                        $"{type} blocks={blocks} acts={acts} groups={groups} [{a}, group {g} row {lane}]: {got} vs {want}");
                                }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Random file blocks with finite block scales of a realistic size (d, and Q4_K's dmin).</summary>
    private static byte[] RandomBlocks(DType type, int rows, int cols, Random r)
    {
        var file = new byte[rows * DTypeInfo.RowBytes(type, cols)];
        r.NextBytes(file);
        int bb = DTypeInfo.BlockBytes(type);
        var (at, bytes) = ScaleBytes(type);
        for (int b = 0; b < file.Length / bb; b++)
            for (int i = 0; i < bytes; i += 2)
                BitConverter.TryWriteBytes(file.AsSpan(b * bb + at + i), (Half)((r.Next(2) == 0 ? 1 : -1) * (0.001 + 0.01 * r.NextDouble())));
        return file;
    }

    /// <summary>Where a file block keeps its f16 scales: d (Q4_K: d and dmin).</summary>
    private static (int At, int Bytes) ScaleBytes(DType type) => type switch
    {
        DType.Q4_K => (0, 4), DType.Q6_K => (208, 2), _ => (0, 2),
    };

    /// <summary>The AVX2 kernel's f16 conversion (no F16C in .NET) against (float)(Half), for all 65,536 values.</summary>
    [Fact]
    public void VectorisedHalfConversionMatchesHalfToFloat()
    {
        if (!Avx2Int8Kernel.IsSupported) return;
        var halves = new ushort[65536];
        for (int i = 0; i < halves.Length; i++) halves[i] = (ushort)i;
        var got = new float[8];
        fixed (ushort* h = halves)
        fixed (float* g = got)
            for (int i = 0; i < halves.Length; i += 8)
            {
                System.Runtime.Intrinsics.Vector256.Store(Avx2Int8Kernel.Halves((byte*)(h + i)), g);
                for (int k = 0; k < 8; k++)
                    Assert.True(BitConverter.SingleToInt32Bits((float)BitConverter.UInt16BitsToHalf(halves[i + k])) == BitConverter.SingleToInt32Bits(got[k]),
                        $"0x{i + k:X4}: {got[k]} vs {(float)BitConverter.UInt16BitsToHalf(halves[i + k])}");
            }
    }

    private static DType Other(DType type) => type switch
    {
        DType.Q8_0 => DType.Q4_0, DType.Q4_0 => DType.Q8_0, DType.Q4_K => DType.Q6_K, _ => DType.Q4_K,
    };

    /// <summary>
    /// q/k/v and gate/up share one quantization of the input and one pool pass over every matrix's groups, in decode and
    /// in batches: each matrix gets the bits of its own product, with and without biases, for row counts that leave
    /// padding rows, one activation tile or several, and matrices small and large enough to be split among the threads
    /// in different places; matrices of mixed types (a Q4_K_M file's q/k with a Q6_K v) take the one-by-one path and
    /// agree too.
    /// </summary>
    [Theory, MemberData(nameof(PathsAndTypes))]
    public void SharedProductsAreBitIdenticalToOneProductPerMatrix(string path, DType type)
    {
        var compute = PathCompute(path);
        if (compute == null) return;
        var r = new Random(20 + (int)type + path.Length);
        int cols = DTypeInfo.BlockSize(type) == 32 ? 160 : 512;
        var shapes = new[] { new[] { 40, 8, 8 }, new[] { 600, 17 }, new[] { 16, 515, 33 }, new[] { 37, 5, 16 }, new[] { 64, 33 } };
        foreach (var rowsOf in shapes)
            foreach (int n in new[] { 1, 2, 16, 17, 40 })
                foreach (bool withBias in new[] { false, true })
                {
                    bool mixed = rowsOf[0] == 40;
                    var ws = rowsOf.Select((rows, j) => Matrix(mixed && j == 2 ? Other(type) : type, rows, cols, r).W).ToArray();
                    try
                    {
                        var x = Gaussian(r, n * cols, 2);
                        var biases = ws.Select(w => withBias ? Gaussian(r, w.Rows) : []).ToArray();
                        var got = ws.Select(w => new float[n * w.Rows]).ToArray();
                        if (ws.Length == 3) MatMul.MultiplyShared(compute, x, n, ws[0], got[0], biases[0], ws[1], got[1], biases[1], ws[2], got[2], biases[2]);
                        else MatMul.MultiplyShared(compute, x, n, ws[0], got[0], biases[0], ws[1], got[1], biases[1]);
                        for (int j = 0; j < ws.Length; j++)
                        {
                            var want = new float[n * ws[j].Rows];
                            MatMul.Multiply(compute, x, n, ws[j], want, biases[j]);
                            Assert.True(MemoryMarshal.Cast<float, int>(want.AsSpan()).SequenceEqual(MemoryMarshal.Cast<float, int>(got[j].AsSpan())),
                                $"{path} {type} rows [{string.Join(", ", rowsOf)}] n={n} bias={withBias}: matrix {j} ({ws[j].Type}) differs");
                        }
                    }
                    finally { foreach (var w in ws) w.Dispose(); }
                }
    }

    private static readonly int[] Batches = [1, 2, 16, 17];

    /// <summary>Products on one thread (small enough that the pool runs them inline), one tile and several, full and padded
    /// groups, one matrix and shared: nothing allocated once warm.</summary>
    [Fact]
    public void QuantizedProductsAllocateNothingOnceWarm()
    {
        var compute = KernelPaths.Get("generated", Precision.Fast) ?? Compute.Create(EngineOptions.Default with { Precision = Precision.Fast });
        var r = new Random(5);
        var (_, w0) = Matrix(DType.Q8_0, 64, 256, r);
        var (_, w1) = Matrix(DType.Q8_0, 40, 256, r);
        using var _0 = w0; using var _1 = w1;
        var x = Gaussian(r, 17 * 256);
        var y0 = new float[17 * 64]; var y1 = new float[17 * 40];
        var outputs = new PanelProducts.Output[2];
        void Run()
        {
            fixed (float* p0 = y0, p1 = y1)
                foreach (int n in Batches)
                {
                    MatMul.Multiply(compute, x, n, w0, y0);
                    outputs[0] = new() { W = w0, Y = p0 };
                    outputs[1] = new() { W = w1, Y = p1 };
                    QuantizedProducts.MultiplyShared(compute, x, n, outputs);
                }
        }
        for (int i = 0; i < 3; i++) Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory, MemberData(nameof(Types))]
    public void InterleavedLayoutKeepsEveryFileByte(DType type)
    {
        var r = new Random(3);
        foreach (int rows in new[] { 1, 15, 16, 17, 50 })
        {
            int cols = DTypeInfo.BlockSize(type) == 32 ? 96 : 512;
            var (file, w) = Matrix(type, rows, cols, r);
            using var _ = w;
            Assert.Equal(InterleavedLayout.Groups(rows) * 16 * DTypeInfo.RowBytes(type, cols), w.ByteCount);
            int rb = w.RowBytes;
            var row = new byte[rb];
            for (int i = 0; i < rows; i++)
            {
                w.ReadFileRow(i, row);
                Assert.Equal(file.AsSpan(i * rb, rb).ToArray(), row);
            }
            // decoding a row through the layout equals decoding the file row
            var got = new float[cols];
            var want = new float[cols];
            w.ReadRow(rows - 1, got);
            fixed (byte* f = file) FrSpec.Numerics.Convert.ToFloat(type, f + (rows - 1) * rb, want);
            Assert.Equal(want, got);
        }
    }

    [Theory, MemberData(nameof(Types))]
    public void GatheredRowsKeepTheirBits(DType type)
    {
        var r = new Random(13);
        int rows = 50, cols = DTypeInfo.BlockSize(type) == 32 ? 64 : 256;
        var (_, w) = Matrix(type, rows, cols, r);
        using var _w = w;
        int[] subset = [49, 3, 17, 0, 33, 16, 15];
        using var g = w.GatherRows(subset);
        var x = Gaussian(r, 4 * cols);
        var full = new float[4 * rows];
        var part = new float[4 * subset.Length];
        var fast = Compute.Default.WithPrecision(Precision.Fast);
        MatMul.Multiply(fast, x, 4, w, full);
        MatMul.Multiply(fast, x, 4, g, part);
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < subset.Length; k++) Assert.Equal(full[i * rows + subset[k]], part[i * subset.Length + k]);
    }

    [Theory, MemberData(nameof(Types))]
    public void ExactPrecisionMultipliesTheDecodedWeightsAndFastStaysClose(DType type)
    {
        var r = new Random(12);
        int n = 3, rows = 21, cols = DTypeInfo.BlockSize(type) == 32 ? 96 : 512;
        var (_, w) = Matrix(type, rows, cols, r);
        using var _w = w;
        var stored = w.ToFloatArray();
        var x = Gaussian(r, n * cols);
        var exact = new float[n * rows];
        var fast = new float[n * rows];
        MatMul.Multiply(Compute.Default.WithPrecision(Precision.Exact), x, n, w, exact);
        MatMul.Multiply(Compute.Default.WithPrecision(Precision.Fast), x, n, w, fast);
        for (int i = 0; i < n; i++)
            for (int o = 0; o < rows; o++)
            {
                double s = 0, mag = 0;
                for (int c = 0; c < cols; c++) { s += (double)x[i * cols + c] * stored[o * cols + c]; mag += Math.Abs((double)x[i * cols + c] * stored[o * cols + c]); }
                Assert.Equal(s, exact[i * rows + o], 1e-4);
                // int8 activations: each product off by at most half a step of its block, |x|max/254
                Assert.True(Math.Abs(s - fast[i * rows + o]) <= 0.02 * mag + 1e-6, $"{type} [{i},{o}]: fast {fast[i * rows + o]} vs {s} (Σ|x·w| {mag})");
            }
    }

    [Fact]
    public void VectorisedActivationQuantizerMatchesTheScalarOne()
    {
        var r = new Random(4);
        var x = new float[32 * 64];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(r.NextDouble() * 2 - 1) * (i % 5 == 0 ? 100 : 1);
        for (int j = 0; j < 32; j++) x[32 * 3 + j] = (j - 16) * 0.5f;   // max 8: x·127/8 hits exact halves
        for (int j = 0; j < 32; j++) x[32 * 4 + j] = 0;                  // all zero: dx = 0
        var a = new sbyte[32];
        var b = new sbyte[32];
        fixed (float* px = x)
        fixed (sbyte* pa = a, pb = b)
            for (int blk = 0; blk < 64; blk++)
            {
            {
                float db = Int8Activations.QuantizeBlockScalar(px + 32 * blk, pb, out int b0, out int b1);
                if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
                {
                    float da = Int8Activations.QuantizeBlock256(px + 32 * blk, pa, out int a0, out int a1);
                    Assert.Equal((db, b0, b1), (da, a0, a1));
                    Assert.Equal(b, a);
                }
                if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
                {
                    float da = Int8Activations.QuantizeBlock512(px + 32 * blk, pa, out int a0, out int a1);
                    Assert.Equal((db, b0, b1), (da, a0, a1));
                    Assert.Equal(b, a);
                }
            }
            }
    }

    [Fact]
    public void TheGeneratedKernelsExistWhereTheCpuHasVnni()
    {
        var k = Compute.Create(EngineOptions.Default with { Precision = Precision.Fast }).Generated;
        if (CpuFeatures.Detect().CanRunInt8Kernels) Assert.NotNull(k?.Int8);
    }
}
