using System.Diagnostics;
using System.Runtime.Intrinsics;
using FrSpec.Numerics;
using FrSpec.Numerics.CodeGen;

namespace FrSpec.Benchmarks;

/// <summary>
/// Measures this machine's ceilings in the same run as the engine's figures: read bandwidth over all cores
/// (4 KiB pages and 2 MiB transparent huge pages), fp32 FMA throughput from managed code, and the peaks of the
/// instructions the generated kernels use (vfmadd231ps, vdpbf16ps, vpdpbusd), measured with generated code.
/// </summary>
public static unsafe class MachineProbe
{
    /// <summary>Best-of-<paramref name="repeats"/> read bandwidth in GB/s streaming a buffer of the given size on all pool threads.</summary>
    public static (double median, double best) ReadBandwidth(long bytes, bool hugePages, int repeats = 7)
    {
        using var pass = new ReadPass(bytes, hugePages);
        var times = new List<double>();
        for (int r = 0; r <= repeats; r++)
        {
            double s = pass.Seconds();
            if (r > 0) times.Add(s);
        }
        times.Sort();
        return (bytes / times[times.Count / 2] / 1e9, bytes / times[0] / 1e9);
    }

    /// <summary>A buffer (faulted in) that can be read once more at any moment, so that a benchmark can interleave its
    /// bandwidth probes with what it measures (<see cref="PairedMeasurement"/>). Pass the pool and the page size of the
    /// weights being judged: the probe then reads with the same threads and the same TLB reach as the products do.</summary>
    public sealed class ReadPass : IDisposable
    {
        private readonly NativeBuffer _buffer;
        private readonly ReadJob _job;
        private readonly WorkerPool _pool;

        public ReadPass(long bytes, bool hugePages, WorkerPool? pool = null)
        {
            _pool = pool ?? WorkerPool.Shared;
            _buffer = new NativeBuffer(bytes, hugePages);
            Bytes = bytes;
            for (long at = 0; at < bytes; at += int.MaxValue) // fault pages in
                new Span<byte>((byte*)_buffer.Pointer + at, (int)Math.Min(bytes - at, int.MaxValue)).Fill(1);
            _job = new ReadJob { Base = (float*)_buffer.Pointer, Floats = bytes / 4 };
        }

        public long Bytes { get; }

        /// <summary>Seconds of one pass of all pool threads over the buffer.</summary>
        public double Seconds()
        {
            var sw = Stopwatch.StartNew();
            _pool.For(256, _job, 1);
            return sw.Elapsed.TotalSeconds;
        }

        /// <summary>GB/s of <paramref name="passes"/> passes back to back (<see cref="Seconds"/>): more passes cover a longer
        /// moment, as long as the round they judge.</summary>
        public double GBps(int passes = 1)
        {
            double seconds = 0;
            for (int i = 0; i < passes; i++) seconds += Seconds();
            return passes * Bytes / seconds / 1e9;
        }

        public void Dispose() => _buffer.Dispose();
    }

    private sealed class ReadJob : IRangeJob
    {
        public float* Base;
        public long Floats;
        public float Sink;

        public void Execute(int start, int end)
        {
            long per = Floats / 256;
            var acc = Vector256<float>.Zero;
            var acc2 = Vector256<float>.Zero;
            for (int b = start; b < end; b++)
            {
                float* p = Base + b * per;
                for (long i = 0; i + 16 <= per; i += 16)
                {
                    acc += Vector256.Load(p + i);
                    acc2 += Vector256.Load(p + i + 8);
                }
            }
            Sink += Vector256.Sum(acc + acc2);
        }
    }

    /// <summary>fp32 FMA GFLOP/s on all pool threads (register-resident, 8 independent chains per thread).</summary>
    public static double FmaGflops(long iterationsPerThread = 50_000_000)
    {
        var job = new FmaJob { Iterations = iterationsPerThread };
        WorkerPool.Shared.For(WorkerPool.Shared.Threads, job, 1); // warm-up
        var sw = Stopwatch.StartNew();
        WorkerPool.Shared.For(WorkerPool.Shared.Threads, job, 1);
        double s = sw.Elapsed.TotalSeconds;
        // 8 vectors × 8 lanes × 2 flops per iteration
        return WorkerPool.Shared.Threads * iterationsPerThread * 8 * 8 * 2 / s / 1e9;
    }

    /// <summary>Peak of a generated instruction on all pool threads, in G operations/s (a multiply-add counts two), or
    /// null where code generation is off or the CPU lacks the instruction.</summary>
    public static double? GeneratedPeak(GeneratedInstruction instruction, long iterationsPerThread = 20_000_000)
    {
        var probes = Compute.Default.Generated?.Probes;
        var i = instruction switch
        {
            GeneratedInstruction.Fp32Fma => PeakProbeKernels.Instruction.Fp32Fma,
            GeneratedInstruction.Bf16Dot => PeakProbeKernels.Instruction.Bf16Dot,
            _ => PeakProbeKernels.Instruction.Int8Dot,
        };
        if (probes == null || !probes.Has(i)) return null;
        var job = new ProbeJob { Probes = probes, Instruction = i, Iterations = iterationsPerThread / 10 };
        var pool = WorkerPool.Shared;
        pool.For(pool.Threads, job, 1); // warm-up: clocks settle under AVX-512 load
        job.Iterations = iterationsPerThread;
        job.Ops = 0;
        var sw = Stopwatch.StartNew();
        pool.For(pool.Threads, job, 1);
        return job.Ops / sw.Elapsed.TotalSeconds / 1e9;
    }

    private sealed class ProbeJob : IRangeJob
    {
        public PeakProbeKernels Probes = null!;
        public PeakProbeKernels.Instruction Instruction;
        public long Iterations;
        public double Ops;

        public void Execute(int start, int end)
        {
            double ops = 0;
            for (int t = start; t < end; t++) ops += Probes.Run(Instruction, Iterations);
            lock (this) Ops += ops;
        }
    }

    private sealed class FmaJob : IRangeJob
    {
        public long Iterations;
        public float Sink;

        public void Execute(int start, int end)
        {
            for (int t = start; t < end; t++)
            {
                var a = Vector256.Create(1.0001f);
                var b = Vector256.Create(0.9999f);
                Vector256<float> c0 = Vector256.Create(0.1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
                for (long i = 0; i < Iterations; i++)
                {
                    c0 = Vector256.FusedMultiplyAdd(c0, a, b); c1 = Vector256.FusedMultiplyAdd(c1, a, b);
                    c2 = Vector256.FusedMultiplyAdd(c2, a, b); c3 = Vector256.FusedMultiplyAdd(c3, a, b);
                    c4 = Vector256.FusedMultiplyAdd(c4, a, b); c5 = Vector256.FusedMultiplyAdd(c5, a, b);
                    c6 = Vector256.FusedMultiplyAdd(c6, a, b); c7 = Vector256.FusedMultiplyAdd(c7, a, b);
                }
                Sink += Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7);
            }
        }
    }
}
