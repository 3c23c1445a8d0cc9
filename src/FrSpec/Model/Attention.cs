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
/// FMAs over the head dimension, whatever lane or block it lands in. The softmax and the weighted values then work on
/// the token's visible sequence: the prefix, then its visible pending slots moved up to follow it, so that both passes
/// see the same values at the same indices. Max, exp (<see cref="VectorExp"/>), subtraction and scaling are
/// element-wise; the denominator is summed 16 lanes by index with a fixed final reduction; the weighted values run
/// over the sequence in order.
/// </summary>
internal static class Attention
{
    private const int MaxGroup = 16;
    [ThreadStatic] private static Job? t_job;

    public static void Compute(WorkerPool pool, float[] q, float[] output, int n, int heads, int kvHeads, int headDim, KvCache cache, int layer, AttentionMask mask)
    {
        if (heads / kvHeads > MaxGroup) throw new FrSpecException($"{heads / kvHeads} query heads per KV head exceed {MaxGroup}");
        var job = t_job ??= new Job();
        job.Q = q; job.Output = output; job.Heads = heads; job.KvHeads = kvHeads; job.Group = heads / kvHeads; job.HeadDim = headDim; job.N = n;
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
        public int Heads, KvHeads, Group, HeadDim, Layer, N;
        public float Scale;
        public KvCache Cache = null!;
        public AttentionMask Mask = null!;
        [ThreadStatic] private static float[]? t_scores;
        [ThreadStatic] private static int[]? t_visible;

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
            if (visible == null || visible.Length < slots - prefix) t_visible = visible = new int[Math.Max(slots - prefix, 1024)];
            int qStride = Heads * hd, n = N;
            fixed (float* pq = Q, po = Output, pk = Cache.Keys[Layer], pv = Cache.Values[Layer], ps = scores)
            fixed (int* vis = visible)
            {
                for (int idx = start; idx < end; idx++)
                {
                    // KV head by KV head: consecutive pairs read the same keys and values, which stay in L2
                    int g = idx / n, t = idx % n;
                    float* q0 = pq + (long)t * qStride + (long)g * group * hd;
                    float* o0 = po + (long)t * qStride + (long)g * group * hd;
                    int count = 0;
                    for (int s = prefix; s < slots; s++)
                        if (Mask.IsVisible(t, s)) vis[count++] = s;

                    Scores<TL, TV>(q0, group, hd, pk + Cache.KeyBase(g), padded, ps, Scale);
                    Softmax(ps, padded, group, prefix, vis, count);
                    WeightedValues<TL, TV>(ps, padded, prefix, vis, count, pv + Cache.Offset(g, 0), hd, group, o0);
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

        /// <summary>
        /// Each head's scores → probabilities over the visible slots in order: the prefix, then the <paramref name="count"/>
        /// visible pending slots <paramref name="visible"/>, whose scores are first moved to follow the prefix (row[prefix + j]
        /// ← row[visible[j]]). The row is then the token's visible sequence, the same values at the same indices whether
        /// its ancestors are pending slots of a tree or committed ones, so the denominator can be summed 16 lanes at a time
        /// (lane = index mod 16, then a fixed reduction) and stay batch-invariant.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Softmax(float* p, int stride, int group, int prefix, int* visible, int count)
        {
            int length = prefix + count;
            float* tail = stackalloc float[16];
            for (int h = 0; h < group; h++)
            {
                float* row = p + h * stride;
                for (int j = 0; j < count; j++) row[prefix + j] = row[visible[j]]; // visible[j] ≥ prefix + j: a forward move
                if (length == 0) continue;
                var span = new Span<float>(row, length);
                float max = TensorPrimitives.Max(span);
                if (float.IsNegativeInfinity(max)) { span.Clear(); continue; }
                var m = Vector256.Create(max);
                Vector256<float> a0 = Vector256<float>.Zero, a1 = Vector256<float>.Zero;
                int k = 0;
                for (; k + 16 <= length; k += 16)
                {
                    // e^(s − max), the subtraction as its own rounding step (as VectorExp.Exp)
                    var e0 = VectorExp.Exp8(Vector256.Load(row + k) - m);
                    var e1 = VectorExp.Exp8(Vector256.Load(row + k + 8) - m);
                    e0.Store(row + k); e1.Store(row + k + 8);
                    a0 += e0; a1 += e1;
                }
                if (k < length)
                {
                    // the tail padded with −∞, whose exponentials are exact zeros in the sums
                    for (int i = 0; i < 16; i++) tail[i] = k + i < length ? row[k + i] : float.NegativeInfinity;
                    var e0 = VectorExp.Exp8(Vector256.Load(tail) - m);
                    var e1 = VectorExp.Exp8(Vector256.Load(tail + 8) - m);
                    e0.Store(tail); e1.Store(tail + 8);
                    a0 += e0; a1 += e1;
                    for (int i = 0; k + i < length; i++) row[k + i] = tail[i];
                }
                float sum = Vector256.Sum(a0 + a1);
                if (sum > 0) TensorPrimitives.Multiply(span, 1f / sum, span);
            }
        }

        /// <summary>o[h] = Σ visible slots p[h, k]·v[slot k], in the order of <see cref="Softmax"/>'s rows (the prefix, then the
        /// visible pending slots), for all heads of the group; each value vector is read once per block of 2·Count dimensions
        /// and shared by 4 heads.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void WeightedValues<TL, TV>(float* p, int stride, int prefix, int* visible, int count, float* values, int hd, int group, float* o)
            where TL : ISimdLanes<TV> where TV : struct
        {
            int n = TL.Count, d0 = 0, length = prefix + count;
            for (; d0 + 2 * n <= hd; d0 += 2 * n)
            {
                int h0 = 0;
                for (; h0 + 4 <= group; h0 += 4)
                {
                    TV a0 = TL.Zero, b0 = TL.Zero, a1 = TL.Zero, b1 = TL.Zero, a2 = TL.Zero, b2 = TL.Zero, a3 = TL.Zero, b3 = TL.Zero;
                    float* p0 = p + h0 * stride;
                    for (int k = 0; k < length; k++)
                    {
                        int slot = k < prefix ? k : visible[k - prefix];
                        float* v = values + (long)slot * hd + d0;
                        var v0 = TL.Load(v); var v1 = TL.Load(v + n);
                        var w = TL.Broadcast(p0[k]); a0 = TL.Fma(w, v0, a0); b0 = TL.Fma(w, v1, b0);
                        w = TL.Broadcast(p0[stride + k]); a1 = TL.Fma(w, v0, a1); b1 = TL.Fma(w, v1, b1);
                        w = TL.Broadcast(p0[2 * stride + k]); a2 = TL.Fma(w, v0, a2); b2 = TL.Fma(w, v1, b2);
                        w = TL.Broadcast(p0[3 * stride + k]); a3 = TL.Fma(w, v0, a3); b3 = TL.Fma(w, v1, b3);
                    }
                    float* oh = o + h0 * hd + d0;
                    TL.Store(a0, oh); TL.Store(b0, oh + n); TL.Store(a1, oh + hd); TL.Store(b1, oh + hd + n);
                    TL.Store(a2, oh + 2 * hd); TL.Store(b2, oh + 2 * hd + n); TL.Store(a3, oh + 3 * hd); TL.Store(b3, oh + 3 * hd + n);
                }
                for (; h0 < group; h0++) WeightedValuesScalar(p + h0 * stride, prefix, visible, count, values, hd, d0, d0 + 2 * n, o + h0 * hd);
            }
            for (int h = 0; h < group; h++) WeightedValuesScalar(p + h * stride, prefix, visible, count, values, hd, d0, hd, o + h * hd);
        }

        /// <summary>
        /// Dimensions [d0, d1) of one head: 8 at a time in vector lanes, then one at a time; every element gets the same
        /// fused multiply-adds in the same order as the wide loop, so the bits do not depend on the path. (One dimension at
        /// a time over all slots made the O(n²) prefill of a long prompt on a small-group model minutes long.)
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void WeightedValuesScalar(float* p, int prefix, int* visible, int count, float* values, int hd, int d0, int d1, float* o)
        {
            int length = prefix + count;
            for (; d0 + 8 <= d1; d0 += 8)
            {
                var acc = Vector256<float>.Zero;
                for (int k = 0; k < length; k++)
                {
                    int slot = k < prefix ? k : visible[k - prefix];
                    acc = Vector256.FusedMultiplyAdd(Vector256.Create(p[k]), Vector256.Load(values + (long)slot * hd + d0), acc);
                }
                acc.Store(o + d0);
            }
            for (int d = d0; d < d1; d++)
            {
                float acc = 0;
                for (int k = 0; k < length; k++)
                {
                    int slot = k < prefix ? k : visible[k - prefix];
                    acc = MathF.FusedMultiplyAdd(p[k], values[(long)slot * hd + d], acc);
                }
                o[d] = acc;
            }
        }
    }
}
