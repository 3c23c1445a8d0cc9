using System.Diagnostics;
using FrSpec.Numerics;
using FrSpec.Numerics.CodeGen;

namespace FrSpec.Benchmarks;

/// <summary>
/// The generated bf16 panel kernel on one thread, against the same thread's vdpbf16ps peak (the generated probe): a
/// matrix of random bf16 rows packed into panels meets one block of activation rows, panel after panel as
/// <see cref="PanelProducts"/> walks a one-block product (with its prefetch ahead), then the same product runs through
/// MatMul on the whole pool (`frspec bench bf16-tile`). A matrix that fits L2 isolates the kernel's instruction mix; one
/// beyond the caches adds the weights' stream from memory, without the rest of a forward pass.
/// </summary>
public static unsafe class Bf16TileProbe
{
    /// <summary>One measurement, in G operations/s (a multiply-add counts two).</summary>
    /// <param name="Variant">the tuning variant (<see cref="ProductTuning"/>) it ran under</param>
    /// <param name="Acts">activation rows of the block</param>
    /// <param name="Rows">weight rows</param>
    /// <param name="Cols">weight columns</param>
    /// <param name="KernelGops">the generated kernel alone, on one thread</param>
    /// <param name="PeakGops">vdpbf16ps's peak on one thread, measured in the same run</param>
    /// <param name="PoolGops">the whole product (activation packing, worker pool, kernel) on every pool thread</param>
    /// <param name="Threads">the pool's threads</param>
    public readonly record struct Result(string Variant, int Acts, int Rows, int Cols, double KernelGops, double PeakGops, double PoolGops, int Threads)
    {
        public double ShareOfPeak => KernelGops / PeakGops;
        public double PoolShareOfPeak => PoolGops / (PeakGops * Threads);
    }

    /// <summary>Times a block of <paramref name="acts"/> rows over a <paramref name="rows"/> × <paramref name="cols"/>
    /// matrix for about <paramref name="seconds"/> per variant, the variants alternating round by round (each with kernels
    /// generated under its knobs); null where the generated bf16 kernels are not available.</summary>
    public static IReadOnlyList<Result>? Measure(int acts, int rows, int cols, double seconds, IReadOnlyList<ProductTuning> variants)
    {
        var generated = Compute.Default.Generated;
        if (generated?.Bf16Panels is not { } kernels || Compute.Default.Precision != Precision.Fast) return null;
        if (acts < 1 || acts > Bf16PanelKernels.MaxActs) throw new FrSpecException($"--acts must be 1..{Bf16PanelKernels.MaxActs} for bf16 panels, got {acts}");
        if (rows < 32 || rows % 32 != 0) throw new FrSpecException($"--matrix-rows must be a positive multiple of 32, got {rows}");
        if (cols < 2 || cols % 2 != 0) throw new FrSpecException($"--matrix-cols must be a positive even number, got {cols}");
        if ((long)rows * cols > 1L << 27) throw new FrSpecException($"--matrix-rows × --matrix-cols must be at most 2^27 weights, got {(long)rows * cols}");
        var r = new Random(1);
        using var w = WeightMatrix.Allocate(DType.BF16, rows, cols);
        ushort* data = (ushort*)w.Data;
        for (long i = 0; i < (long)rows * cols; i++) data[i] = Bf16.FromFloat((float)(r.NextDouble() - 0.5) * 0.1f);
        w.PackPanelsInPlace();
        var x = new float[acts * cols];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(r.NextDouble() - 0.5) * 4;
        int steps = Bf16Panels.Steps(cols), panels = rows / Bf16Panels.PanelRows;
        // the block's column pairs, step after step, as PanelProducts packs them
        var xp = GC.AllocateArray<uint>(steps * acts + 16, pinned: true);
        for (int j = 0; j < acts; j++)
            for (int s = 0; s < steps; s++)
                xp[s * acts + j] = Bf16.FromFloat(x[j * cols + 2 * s]) | (uint)Bf16.FromFloat(x[j * cols + 2 * s + 1]) << 16;
        var y = new float[acts * rows];
        var defaults = ProductTuning.Current("default");
        var sets = new Bf16PanelKernels[variants.Count];
        try
        {
            for (int v = 0; v < variants.Count; v++) { variants[v].Apply(); sets[v] = Bf16PanelKernels.Create(ExecutableMemory.Place); }
        }
        finally { defaults.Apply(); }
        fixed (uint* px = xp)
        fixed (float* py = y)
        {
            DotArgs args = default;
            args.X = (nint)px; args.XStride = 4L * acts; args.YStride = 4L * rows; args.K = steps; args.Rows = 0;
            double opsPerCall = 2.0 * rows * cols * acts;
            var kernelGops = new double[variants.Count];
            var poolGops = new double[variants.Count];
            double peakGops = 0;
            const int rounds = 8;
            try
            {
                for (int v = 0; v < variants.Count; v++) { variants[v].Apply(); for (int i = 0; i < 3; i++) Walk(sets[v].Kernel(2, acts, 2), w, panels, py, &args); } // warm-up
                generated.Probes.Run(PeakProbeKernels.Instruction.Bf16Dot, 1_000_000);
                // alternate variants and the probe and keep each one's best round: all see the same clocks and neighbours
                for (int round = 0; round < rounds; round++)
                {
                    for (int v = 0; v < variants.Count; v++)
                    {
                        variants[v].Apply();
                        var kernel = sets[v].Kernel(2, acts, 2);
                        long calls = 0;
                        var sw = Stopwatch.StartNew();
                        while (sw.Elapsed.TotalSeconds < seconds / rounds) { Walk(kernel, w, panels, py, &args); calls++; }
                        kernelGops[v] = Math.Max(kernelGops[v], calls * opsPerCall / sw.Elapsed.TotalSeconds / 1e9);
                    }
                    var pw = Stopwatch.StartNew();
                    double ops = generated.Probes.Run(PeakProbeKernels.Instruction.Bf16Dot, 2_000_000);
                    peakGops = Math.Max(peakGops, ops / pw.Elapsed.TotalSeconds / 1e9);
                    // the same product through MatMul on the pool (the engine's kernels; runtime knobs apply)
                    for (int v = 0; v < variants.Count; v++)
                    {
                        variants[v].Apply();
                        long calls = 0;
                        var sw = Stopwatch.StartNew();
                        while (sw.Elapsed.TotalSeconds < seconds / rounds / 2)
                        {
                            MatMul.Multiply(Compute.Default, x, acts, w, y);
                            calls++;
                        }
                        poolGops[v] = Math.Max(poolGops[v], calls * opsPerCall / sw.Elapsed.TotalSeconds / 1e9);
                    }
                }
            }
            finally { defaults.Apply(); }
            var results = new Result[variants.Count];
            for (int v = 0; v < variants.Count; v++)
                results[v] = new Result(variants[v].Name, acts, rows, cols, kernelGops[v], peakGops, poolGops[v], Compute.Default.Pool.Threads);
            return results;
        }
    }

    /// <summary>One pass over every panel, each through the whole K, prefetching ahead as a one-block product does.</summary>
    private static void Walk(delegate* unmanaged[Cdecl, SuppressGCTransition]<DotArgs*, void> kernel, WeightMatrix w, int panels, float* y, DotArgs* args)
    {
        for (int p = 0; p < panels; p++)
        {
            byte* panel = (byte*)w.Address + Bf16Panels.Offset(w.Cols, p);
            args->W = (nint)panel; args->Y = (nint)(y + p * Bf16Panels.PanelRows);
            args->Prefetch = PanelProducts.PrefetchAhead > 0 ? (nint)(panel + PanelProducts.PrefetchAhead) : 0;
            kernel(args);
        }
    }
}
