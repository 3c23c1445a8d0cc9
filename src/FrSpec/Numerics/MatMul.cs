using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FrSpec.Numerics;

/// <summary>
/// y = x·Wᵀ (+ bias) for n activation rows against a [rows, cols] weight matrix, multithreaded over weight rows.
/// Decode (n = 1) is bound by reading W once; verification (n = tree size) reuses each converted row for all n.
/// </summary>
public static unsafe class MatMul
{
    private const int Tile = 4; // weight rows per micro-kernel call

    [ThreadStatic] private static Job? t_job;

    /// <summary>y[i, r] = Σc x[i, c]·W[r, c] + bias[r] for i &lt; n, r &lt; W.Rows. x is [n, W.Cols], y is [n, W.Rows].</summary>
    public static void Multiply(ReadOnlySpan<float> x, int n, WeightMatrix w, Span<float> y, ReadOnlySpan<float> bias = default)
    {
        if (x.Length < n * w.Cols) throw new ArgumentException($"x has {x.Length} floats, need {n}x{w.Cols}");
        if (y.Length < n * w.Rows) throw new ArgumentException($"y has {y.Length} floats, need {n}x{w.Rows}");
        if (!bias.IsEmpty && bias.Length < w.Rows) throw new ArgumentException("bias shorter than rows");
        if (n == 0) return;
        fixed (float* px = x, py = y, pb = bias)
        {
            var job = t_job ??= new Job();
            job.X = px; job.Y = py; job.Bias = bias.IsEmpty ? null : pb; job.N = n; job.W = w;
            int tiles = (w.Rows + Tile - 1) / Tile;
            // enough rows per chunk to amortise scheduling, fewer when n is large (compute-bound)
            int minTiles = Math.Max(1, 64 / Math.Max(1, n));
            WorkerPool.Shared.For(tiles, job, minTiles);
            job.W = null!;
        }
    }

    private sealed class Job : IRangeJob
    {
        public float* X, Y, Bias;
        public int N;
        public WeightMatrix W = null!;
        [ThreadStatic] private static float[]? t_scratch;

        public void Execute(int startTile, int endTile)
        {
            var w = W;
            int cols = w.Cols, rows = w.Rows;
            int rb = w.RowBytes;
            var scratch = t_scratch;
            if (scratch == null || scratch.Length < Tile * cols) t_scratch = scratch = GC.AllocateUninitializedArray<float>(Tile * cols, pinned: true);
            fixed (float* s = scratch)
            {
                for (int t = startTile; t < endTile; t++)
                {
                    int r0 = t * Tile;
                    int count = Math.Min(Tile, rows - r0);
                    if (N == 1 && w.Type == DType.BF16 && count == Tile && Avx2.IsSupported && Fma.IsSupported)
                    {
                        GemvBf16Tile((ushort*)((byte*)w.Data + (long)r0 * rb), cols, X, Y + r0);
                    }
                    else
                    {
                        float* w0, w1, w2, w3;
                        if (w.Type == DType.F32)
                        {
                            w0 = (float*)w.Data + (long)r0 * cols;
                        }
                        else
                        {
                            for (int k = 0; k < count; k++)
                                Convert.ToFloat(w.Type, (byte*)w.Data + (long)(r0 + k) * rb, new Span<float>(s + k * cols, cols));
                            w0 = s;
                        }
                        w1 = count > 1 ? w0 + cols : w0;
                        w2 = count > 2 ? w0 + 2 * cols : w0;
                        w3 = count > 3 ? w0 + 3 * cols : w0;
                        for (int i = 0; i < N; i++)
                        {
                            float* xi = X + (long)i * cols;
                            float* yi = Y + (long)i * rows + r0;
                            Dot4(xi, w0, w1, w2, w3, cols, out float d0, out float d1, out float d2, out float d3);
                            yi[0] = d0;
                            if (count > 1) yi[1] = d1;
                            if (count > 2) yi[2] = d2;
                            if (count > 3) yi[3] = d3;
                        }
                    }
                    if (Bias != null)
                        for (int i = 0; i < N; i++)
                            for (int k = 0; k < count; k++) Y[(long)i * rows + r0 + k] += Bias[r0 + k];
                }
            }
        }
    }

    /// <summary>Four dot products of x with four f32 rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Dot4(float* x, float* w0, float* w1, float* w2, float* w3, int cols, out float d0, out float d1, out float d2, out float d3)
    {
        int c = 0;
        if (Vector256.IsHardwareAccelerated && cols >= 8)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; c + 8 <= cols; c += 8)
            {
                var xv = Vector256.Load(x + c);
                a0 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(w0 + c), a0);
                a1 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(w1 + c), a1);
                a2 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(w2 + c), a2);
                a3 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(w3 + c), a3);
            }
            d0 = Vector256.Sum(a0); d1 = Vector256.Sum(a1); d2 = Vector256.Sum(a2); d3 = Vector256.Sum(a3);
        }
        else if (Vector128.IsHardwareAccelerated && cols >= 4)
        {
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; c + 4 <= cols; c += 4)
            {
                var xv = Vector128.Load(x + c);
                a0 = Vector128.FusedMultiplyAdd(xv, Vector128.Load(w0 + c), a0);
                a1 = Vector128.FusedMultiplyAdd(xv, Vector128.Load(w1 + c), a1);
                a2 = Vector128.FusedMultiplyAdd(xv, Vector128.Load(w2 + c), a2);
                a3 = Vector128.FusedMultiplyAdd(xv, Vector128.Load(w3 + c), a3);
            }
            d0 = Vector128.Sum(a0); d1 = Vector128.Sum(a1); d2 = Vector128.Sum(a2); d3 = Vector128.Sum(a3);
        }
        else { d0 = d1 = d2 = d3 = 0; }
        for (; c < cols; c++)
        {
            float xv = x[c];
            d0 += xv * w0[c]; d1 += xv * w1[c]; d2 += xv * w2[c]; d3 += xv * w3[c];
        }
    }

    /// <summary>Decode hot path: four bf16 rows widened in registers and dotted with one activation row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GemvBf16Tile(ushort* w, int cols, float* x, float* y)
    {
        ushort* w0 = w, w1 = w + cols, w2 = w + 2 * cols, w3 = w + 3 * cols;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int c = 0;
        for (; c + 8 <= cols; c += 8)
        {
            var xv = Avx.LoadVector256(x + c);
            a0 = Fma.MultiplyAdd(xv, Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w0 + c), 16).AsSingle(), a0);
            a1 = Fma.MultiplyAdd(xv, Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w1 + c), 16).AsSingle(), a1);
            a2 = Fma.MultiplyAdd(xv, Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w2 + c), 16).AsSingle(), a2);
            a3 = Fma.MultiplyAdd(xv, Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w3 + c), 16).AsSingle(), a3);
        }
        float d0 = Vector256.Sum(a0), d1 = Vector256.Sum(a1), d2 = Vector256.Sum(a2), d3 = Vector256.Sum(a3);
        for (; c < cols; c++)
        {
            float xv = x[c];
            d0 += xv * Bf16.ToFloat(w0[c]); d1 += xv * Bf16.ToFloat(w1[c]); d2 += xv * Bf16.ToFloat(w2[c]); d3 += xv * Bf16.ToFloat(w3[c]);
        }
        y[0] = d0; y[1] = d1; y[2] = d2; y[3] = d3;
    }
}
