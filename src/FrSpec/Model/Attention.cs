using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FrSpec.Numerics;

namespace FrSpec.Model;

/// <summary>
/// Masked multi-head attention of n new queries over the KV cache (grouped-query: several query heads share a
/// KV head). Parallel over (token, KV head) pairs: the query heads of a group read each key and value once.
///
/// Scores are vectorised over slots: keys are stored transposed in blocks of 16 slots (<see cref="KvCache"/>), so one
/// broadcast query element meets 2·Count keys per step, 4 heads at a time (8 accumulators), with nothing to sum
/// across lanes. The weighted sum of values is vectorised over dimensions (2 vectors × 4 heads per pass).
///
/// Batch invariance: a token's output must be the same bits in a tree pass (its ancestors among the new slots) and in
/// a one-token decode (the same ancestors, now committed, at other slot indices). Each score is one lane's chain of
/// FMAs over the head dimension, whatever lane or block it lands in; max, exp (<see cref="VectorExp"/>), subtraction
/// and scaling are element-wise; and the two sums that cross slots — the softmax denominator and the weighted values —
/// run over the visible slots in slot order, where both passes see the same values in the same order (hidden slots add
/// exact zeros to the denominator and are skipped in the values).
/// </summary>
internal static class Attention
{
    private const int MaxGroup = 16;
    [ThreadStatic] private static Job? t_job;

    public static void Compute(WorkerPool pool, float[] q, float[] output, int n, int heads, int kvHeads, int headDim, KvCache cache, int layer, AttentionMask mask)
    {
        if (heads / kvHeads > MaxGroup) throw new FrSpecException($"{heads / kvHeads} query heads per KV head exceed {MaxGroup}");
        var job = t_job ??= new Job();
        job.Q = q; job.Output = output; job.Heads = heads; job.KvHeads = kvHeads; job.Group = heads / kvHeads; job.HeadDim = headDim;
        job.Cache = cache; job.Layer = layer; job.Mask = mask;
        job.Scale = 1f / MathF.Sqrt(headDim);
        // one (token, KV head) pair per chunk: each costs the same, a few µs, and a coarse chunk is what a region can
        // leave one thread waiting for
        pool.For(n * kvHeads, job, 1, n * kvHeads);
        job.Cache = null!; job.Mask = null!; job.Q = null!; job.Output = null!;
    }

    private sealed unsafe class Job : IRangeJob
    {
        public float[] Q = null!, Output = null!;
        public int Heads, KvHeads, Group, HeadDim, Layer;
        public float Scale;
        public KvCache Cache = null!;
        public AttentionMask Mask = null!;
        [ThreadStatic] private static float[]? t_scores;
        [ThreadStatic] private static bool[]? t_visible;

        public void Execute(int start, int end)
        {
            if (Vector512.IsHardwareAccelerated) Run<Lanes512, Vector512<float>>(start, end);
            else Run<Lanes256, Vector256<float>>(start, end);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Run<TL, TV>(int start, int end) where TL : ISimdLanes<TV> where TV : struct
        {
            int slots = Mask.TotalSlots, prefix = Mask.PrefixLength, group = Group, hd = HeadDim;
            int chunk = 2 * TL.Count, padded = (slots + chunk - 1) / chunk * chunk;
            var scores = t_scores;
            if (scores == null || scores.Length < group * padded) t_scores = scores = GC.AllocateUninitializedArray<float>(Math.Max(group * padded, 4096), pinned: true);
            var visible = t_visible;
            if (visible == null || visible.Length < slots - prefix) t_visible = visible = new bool[Math.Max(slots - prefix, 1024)];
            int qStride = Heads * hd;
            fixed (float* pq = Q, po = Output, pk = Cache.Keys[Layer], pv = Cache.Values[Layer], ps = scores)
            fixed (bool* vis = visible)
            {
                for (int idx = start; idx < end; idx++)
                {
                    int t = idx / KvHeads, g = idx % KvHeads;
                    float* q0 = pq + (long)t * qStride + (long)g * group * hd;
                    float* o0 = po + (long)t * qStride + (long)g * group * hd;
                    for (int s = prefix; s < slots; s++) vis[s - prefix] = Mask.IsVisible(t, s);

                    Scores<TL, TV>(q0, group, hd, pk + Cache.KeyBase(g), padded, ps, Scale);
                    Softmax(ps, padded, group, slots, prefix, vis);
                    WeightedValues<TL, TV>(ps, padded, slots, prefix, vis, pv + Cache.Offset(g, 0), hd, group, o0);
                }
            }
        }

        /// <summary>p[h, s] = scale·(q_h · k_s) for every slot below <paramref name="padded"/> (slots past the context read
        /// padding and are never used), 2·Count slots per step.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Scores<TL, TV>(float* q, int group, int hd, float* keys, int padded, float* p, float scale)
            where TL : ISimdLanes<TV> where TV : struct
        {
            int n = TL.Count, block = KvCache.SlotBlock;
            var sc = TL.Broadcast(scale);
            for (int s0 = 0; s0 < padded; s0 += 2 * n)
            {
                // slot s, dimension d lives at keys + (s / 16)·16·hd + 16·d + s % 16
                float* k0 = keys + (long)(s0 / block) * block * hd + s0 % block;
                int s1 = s0 + n;
                float* k1 = keys + (long)(s1 / block) * block * hd + s1 % block;
                int h = 0;
                for (; h + 4 <= group; h += 4)
                {
                    float* qa = q + h * hd;
                    TV a0 = TL.Zero, b0 = TL.Zero, a1 = TL.Zero, b1 = TL.Zero, a2 = TL.Zero, b2 = TL.Zero, a3 = TL.Zero, b3 = TL.Zero;
                    for (int d = 0; d < hd; d++)
                    {
                        var x0 = TL.Load(k0 + d * block); var x1 = TL.Load(k1 + d * block);
                        var w = TL.Broadcast(qa[d]); a0 = TL.Fma(w, x0, a0); b0 = TL.Fma(w, x1, b0);
                        w = TL.Broadcast(qa[hd + d]); a1 = TL.Fma(w, x0, a1); b1 = TL.Fma(w, x1, b1);
                        w = TL.Broadcast(qa[2 * hd + d]); a2 = TL.Fma(w, x0, a2); b2 = TL.Fma(w, x1, b2);
                        w = TL.Broadcast(qa[3 * hd + d]); a3 = TL.Fma(w, x0, a3); b3 = TL.Fma(w, x1, b3);
                    }
                    float* ph = p + h * padded + s0;
                    TL.Store(TL.Multiply(a0, sc), ph); TL.Store(TL.Multiply(b0, sc), ph + n);
                    TL.Store(TL.Multiply(a1, sc), ph + padded); TL.Store(TL.Multiply(b1, sc), ph + padded + n);
                    TL.Store(TL.Multiply(a2, sc), ph + 2 * padded); TL.Store(TL.Multiply(b2, sc), ph + 2 * padded + n);
                    TL.Store(TL.Multiply(a3, sc), ph + 3 * padded); TL.Store(TL.Multiply(b3, sc), ph + 3 * padded + n);
                }
                for (; h < group; h++)
                {
                    float* qa = q + h * hd;
                    TV a0 = TL.Zero, b0 = TL.Zero;
                    for (int d = 0; d < hd; d++)
                    {
                        var w = TL.Broadcast(qa[d]);
                        a0 = TL.Fma(w, TL.Load(k0 + d * block), a0); b0 = TL.Fma(w, TL.Load(k1 + d * block), b0);
                    }
                    float* ph = p + h * padded + s0;
                    TL.Store(TL.Multiply(a0, sc), ph); TL.Store(TL.Multiply(b0, sc), ph + n);
                }
            }
        }

        /// <summary>Each head's scores over [0, slots) → probabilities, hidden slots exactly 0 (all 0 when nothing is
        /// visible). The denominators are summed in slot order, four heads at a time so that four dependency chains
        /// overlap.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Softmax(float* p, int stride, int group, int slots, int prefix, bool* visible)
        {
            Span<float> sums = stackalloc float[MaxGroup];
            for (int h = 0; h < group; h++)
            {
                float* row = p + h * stride;
                for (int s = prefix; s < slots; s++)
                    if (!visible[s - prefix]) row[s] = float.NegativeInfinity;
                var span = new Span<float>(row, slots);
                float max = TensorPrimitives.Max(span);
                if (float.IsNegativeInfinity(max)) { span.Clear(); continue; } // nothing visible: zero output
                VectorExp.Exp(span, max); // e^(s − max), the subtraction as its own rounding step
            }
            int h0 = 0;
            for (; h0 + 4 <= group; h0 += 4)
            {
                float* r0 = p + h0 * stride, r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int s = 0; s < slots; s++) { s0 += r0[s]; s1 += r1[s]; s2 += r2[s]; s3 += r3[s]; } // hidden slots add exact zeros
                sums[h0] = s0; sums[h0 + 1] = s1; sums[h0 + 2] = s2; sums[h0 + 3] = s3;
            }
            for (; h0 < group; h0++)
            {
                float* r = p + h0 * stride;
                float sum = 0;
                for (int s = 0; s < slots; s++) sum += r[s];
                sums[h0] = sum;
            }
            for (int h = 0; h < group; h++)
                if (sums[h] > 0) TensorPrimitives.Multiply(new Span<float>(p + h * stride, slots), 1f / sums[h], new Span<float>(p + h * stride, slots));
        }

        /// <summary>o[h] = Σ visible slots p[h, s]·v[s], slot after slot, for all heads of the group; each value vector is
        /// read once per block of 2·Count dimensions and shared by 4 heads.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void WeightedValues<TL, TV>(float* p, int stride, int slots, int prefix, bool* visible, float* values, int hd, int group, float* o)
            where TL : ISimdLanes<TV> where TV : struct
        {
            int n = TL.Count, d0 = 0;
            for (; d0 + 2 * n <= hd; d0 += 2 * n)
            {
                int h0 = 0;
                for (; h0 + 4 <= group; h0 += 4)
                {
                    TV a0 = TL.Zero, b0 = TL.Zero, a1 = TL.Zero, b1 = TL.Zero, a2 = TL.Zero, b2 = TL.Zero, a3 = TL.Zero, b3 = TL.Zero;
                    float* p0 = p + h0 * stride;
                    for (int s = 0; s < slots; s++)
                    {
                        if (s >= prefix && !visible[s - prefix]) continue;
                        float* v = values + (long)s * hd + d0;
                        var v0 = TL.Load(v); var v1 = TL.Load(v + n);
                        var w = TL.Broadcast(p0[s]); a0 = TL.Fma(w, v0, a0); b0 = TL.Fma(w, v1, b0);
                        w = TL.Broadcast(p0[stride + s]); a1 = TL.Fma(w, v0, a1); b1 = TL.Fma(w, v1, b1);
                        w = TL.Broadcast(p0[2 * stride + s]); a2 = TL.Fma(w, v0, a2); b2 = TL.Fma(w, v1, b2);
                        w = TL.Broadcast(p0[3 * stride + s]); a3 = TL.Fma(w, v0, a3); b3 = TL.Fma(w, v1, b3);
                    }
                    float* oh = o + h0 * hd + d0;
                    TL.Store(a0, oh); TL.Store(b0, oh + n); TL.Store(a1, oh + hd); TL.Store(b1, oh + hd + n);
                    TL.Store(a2, oh + 2 * hd); TL.Store(b2, oh + 2 * hd + n); TL.Store(a3, oh + 3 * hd); TL.Store(b3, oh + 3 * hd + n);
                }
                for (; h0 < group; h0++) WeightedValuesScalar(p + h0 * stride, slots, prefix, visible, values, hd, d0, d0 + 2 * n, o + h0 * hd);
            }
            for (int h = 0; h < group; h++) WeightedValuesScalar(p + h * stride, slots, prefix, visible, values, hd, d0, hd, o + h * hd);
        }

        /// <summary>
        /// Dimensions [d0, d1) of one head: 8 at a time in vector lanes, then one at a time; every element gets the same
        /// fused multiply-adds in slot order as the wide loop, so the bits do not depend on the path. (One dimension at a
        /// time over all slots made the O(n²) prefill of a long prompt on a small-group model minutes long.)
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void WeightedValuesScalar(float* p, int slots, int prefix, bool* visible, float* values, int hd, int d0, int d1, float* o)
        {
            for (; d0 + 8 <= d1; d0 += 8)
            {
                var acc = Vector256<float>.Zero;
                for (int s = 0; s < slots; s++)
                    if (s < prefix || visible[s - prefix]) acc = Vector256.FusedMultiplyAdd(Vector256.Create(p[s]), Vector256.Load(values + (long)s * hd + d0), acc);
                acc.Store(o + d0);
            }
            for (int d = d0; d < d1; d++)
            {
                float acc = 0;
                for (int s = 0; s < slots; s++)
                    if (s < prefix || visible[s - prefix]) acc = MathF.FusedMultiplyAdd(p[s], values[(long)s * hd + d], acc);
                o[d] = acc;
            }
        }
    }
}
