using System.Diagnostics;
using System.Runtime.InteropServices;
using FrSpec.Numerics;
using FrSpec.Numerics.CodeGen;
using FrSpec.Numerics.Quantized;

namespace FrSpec.Benchmarks;

/// <summary>
/// One generated int8 kernel on one thread, against the same thread's vpdpbusd peak (the generated probe): a matrix of
/// random block-quantized rows meets one tile of activation rows, over and over, then the same product runs through
/// MatMul on the whole pool (`frspec bench int8-tile`). A matrix that fits L2 isolates the kernel's instruction mix; one
/// beyond the caches adds the weights' stream from memory, without the rest of a forward pass.
/// </summary>
public static unsafe class Int8TileProbe
{
    /// <summary>One measurement: the kernel's and the probe's G operations/s (a multiply-add counts two) on one thread.</summary>
    /// <param name="Type">the weights' block type</param>
    /// <param name="Acts">activation rows per kernel call (the tile)</param>
    /// <param name="Rows">weight rows</param>
    /// <param name="Cols">weight columns</param>
    /// <param name="KernelGops">the generated kernel alone, on one thread</param>
    /// <param name="PeakGops">vpdpbusd's peak on one thread, measured in the same run</param>
    /// <param name="PoolGops">the whole product (activation quantization, worker pool, kernel) on every pool thread</param>
    /// <param name="Threads">the pool's threads</param>
    public readonly record struct Result(DType Type, int Acts, int Rows, int Cols, double KernelGops, double PeakGops, double PoolGops, int Threads)
    {
        public double ShareOfPeak => KernelGops / PeakGops;
        public double PoolShareOfPeak => PoolGops / (PeakGops * Threads);
    }

    /// <summary>Times the kernel for <paramref name="type"/> and a tile of <paramref name="acts"/> rows over a
    /// <paramref name="rows"/> × <paramref name="cols"/> matrix for about <paramref name="seconds"/>; null where the
    /// generated int8 kernels are not available.</summary>
    public static Result? Measure(DType type, int acts, int rows, int cols, double seconds)
    {
        var generated = Compute.Default.Generated;
        if (generated?.Int8 is not { } kernels || !Int8DotKernels.Supports(type)) return null;
        if (acts < 1 || acts > Int8Activations.MaxTileActs) throw new FrSpecException($"--acts must be 1..{Int8Activations.MaxTileActs}, got {acts}");
        if (rows < 16 || rows % 16 != 0) throw new FrSpecException($"--matrix-rows must be a positive multiple of 16, got {rows}");
        if (cols < 256 || cols % 256 != 0) throw new FrSpecException($"--matrix-cols must be a positive multiple of 256, got {cols}");
        if ((long)rows * cols > 1L << 27) throw new FrSpecException($"--matrix-rows × --matrix-cols must be at most 2^27 weights, got {(long)rows * cols}");
        var r = new Random(1);
        var values = new float[(long)rows * cols];
        for (long i = 0; i < values.Length; i++) values[i] = (float)(r.NextDouble() - 0.5) * 0.1f;
        int rowBytes = (int)DTypeInfo.RowBytes(type, cols);
        var file = new byte[(long)rows * rowBytes];
        // huge pages, as the engine keeps its weights (NativeBuffer.HugePageThreshold)
        byte* dst = (byte*)NativeBuffer.Allocate((nuint)WeightMatrix.ByteCountOf(type, rows, cols), hugePages: true, out _);
        try
        {
            fixed (byte* f = file)
            {
                for (int i = 0; i < rows; i++) Numerics.Convert.FromFloat(values.AsSpan(i * cols, cols), type, f + (long)i * rowBytes);
                WeightMatrix.FromFileRows(type, rows, cols, f, null, dst);
            }
            var x = new float[acts * cols];
            for (int i = 0; i < x.Length; i++) x[i] = (float)(r.NextDouble() - 0.5) * 4;
            var tiles = new Int8Activations();
            tiles.Quantize(WorkerPool.Shared, x, acts, cols, type);
            var tile = tiles.Tiles[0];
            var y = new float[acts * rows];
            fixed (float* py = y)
            {
                Int8DotArgs args;
                args.W = (nint)dst; args.Groups = rows / 16; args.Blocks = cols / DTypeInfo.BlockSize(type);
                args.XQ = tile.Q; args.XD = tile.D; args.XC = tile.C; args.XM = tile.M;
                args.Y = (nint)py; args.YStride = 4L * rows;
                var kernel = kernels.Kernel(type, acts);
                double opsPerCall = 2.0 * rows * cols * acts;
                for (int i = 0; i < 3; i++) kernel(&args); // warm-up: caches, clocks
                generated.Probes.Run(PeakProbeKernels.Instruction.Int8Dot, 1_000_000);
                // alternate kernel and probe and keep each one's best round: both see the same clocks and neighbours
                double kernelGops = 0, peakGops = 0;
                const int rounds = 8;
                for (int round = 0; round < rounds; round++)
                {
                    long calls = 0;
                    var sw = Stopwatch.StartNew();
                    while (sw.Elapsed.TotalSeconds < seconds / rounds)
                    {
                        for (int i = 0; i < 8; i++) kernel(&args);
                        calls += 8;
                    }
                    kernelGops = Math.Max(kernelGops, calls * opsPerCall / sw.Elapsed.TotalSeconds / 1e9);
                    sw.Restart();
                    double ops = generated.Probes.Run(PeakProbeKernels.Instruction.Int8Dot, 2_000_000);
                    peakGops = Math.Max(peakGops, ops / sw.Elapsed.TotalSeconds / 1e9);
                }
                // the same product through MatMul on the pool (for a matrix beyond the caches: weights streamed from memory)
                using var w = new WeightMatrix(type, rows, cols, (nint)dst);
                double poolGops = 0;
                for (int round = 0; round < rounds; round++)
                {
                    long calls = 0;
                    var sw = Stopwatch.StartNew();
                    while (sw.Elapsed.TotalSeconds < seconds / rounds)
                    {
                        MatMul.Multiply(Compute.Default, x, acts, w, y);
                        calls++;
                    }
                    poolGops = Math.Max(poolGops, calls * opsPerCall / sw.Elapsed.TotalSeconds / 1e9);
                }
                return new Result(type, acts, rows, cols, kernelGops, peakGops, poolGops, Compute.Default.Pool.Threads);
            }
        }
        finally { NativeMemory.AlignedFree(dst); }
    }
}
