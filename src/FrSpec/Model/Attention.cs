using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FrSpec.Numerics;

namespace FrSpec.Model;

/// <summary>
/// Masked multi-head attention of n new queries over the KV cache (grouped-query: several query heads share a
/// KV head). Parallel over (token, KV head) pairs: the query heads of a group read each key and value once.
///
/// Batch invariance: a token's output must be the same bits in a tree pass (its ancestors among the new slots) and in
/// a one-token decode (the same ancestors, now committed). Every sum therefore runs over the visible slots in slot
/// order, where both passes see the same values in the same order: scores are per-slot dot products, exp is
/// element-wise (<see cref="VectorExp"/>), the softmax sum adds hidden slots as exact zeros, and the weighted sum of
/// values skips them.
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
        pool.For(n * kvHeads, job, 1);
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
            int slots = Mask.TotalSlots, group = Group, hd = HeadDim;
            var scores = t_scores;
            if (scores == null || scores.Length < group * slots) t_scores = scores = new float[Math.Max(group * slots, 4096)];
            var visible = t_visible;
            if (visible == null || visible.Length < slots) t_visible = visible = new bool[Math.Max(slots, 1024)];
            int qStride = Heads * hd;
            fixed (float* pq = Q, po = Output, pk = Cache.Keys[Layer], pv = Cache.Values[Layer], ps = scores)
            {
                for (int idx = start; idx < end; idx++)
                {
                    int t = idx / KvHeads, g = idx % KvHeads;
                    float* q0 = pq + (long)t * qStride + (long)g * group * hd;
                    float* o0 = po + (long)t * qStride + (long)g * group * hd;
                    float* keys = pk + Cache.Offset(g, 0), values = pv + Cache.Offset(g, 0);
                    for (int s = 0; s < slots; s++) visible[s] = Mask.IsVisible(t, s);

                    for (int s = 0; s < slots; s++)
                    {
                        if (!visible[s]) { for (int h = 0; h < group; h++) ps[h * slots + s] = float.NegativeInfinity; continue; }
                        float* k = keys + (long)s * hd;
                        int h0 = 0;
                        for (; h0 + 4 <= group; h0 += 4) Dot4(q0 + h0 * hd, k, hd, ps + h0 * slots + s, slots, Scale);
                        for (; h0 < group; h0++) ps[h0 * slots + s] = Dot(q0 + h0 * hd, k, hd) * Scale;
                    }
                    new Span<float>(o0, group * hd).Clear();
                    for (int h = 0; h < group; h++)
                    {
                        var row = new Span<float>(ps + h * slots, slots);
                        float max = float.NegativeInfinity;
                        for (int s = 0; s < slots; s++) max = MathF.Max(max, row[s]);
                        if (float.IsNegativeInfinity(max)) { row.Fill(0); continue; } // nothing visible: zero output
                        for (int s = 0; s < slots; s++) row[s] -= max;
                        VectorExp.Exp(row);
                        float sum = 0;
                        for (int s = 0; s < slots; s++) sum += row[s]; // hidden slots add exact zeros
                        float inv = 1f / sum;
                        for (int s = 0; s < slots; s++) row[s] *= inv;
                    }
                    WeightedValues(ps, slots, visible, values, hd, group, o0);
                }
            }
        }

        /// <summary>q·k over one head: 8 lanes over dimensions, then a fixed lane sum.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static float Dot(float* q, float* k, int hd)
        {
            var acc = Vector256<float>.Zero;
            int d = 0;
            for (; d + 8 <= hd; d += 8) acc = Vector256.FusedMultiplyAdd(Vector256.Load(q + d), Vector256.Load(k + d), acc);
            float s = Vector256.Sum(acc);
            for (; d < hd; d++) s += q[d] * k[d];
            return s;
        }

        /// <summary>Four heads' q·k with one read of k; the same per-score operations as <see cref="Dot"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Dot4(float* q, float* k, int hd, float* score, int stride, float scale)
        {
            if (hd % 8 != 0)
            {
                for (int h = 0; h < 4; h++) score[h * stride] = Dot(q + h * hd, k, hd) * scale;
                return;
            }
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int d = 0; d < hd; d += 8)
            {
                var kv = Vector256.Load(k + d);
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(q + d), kv, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(q + hd + d), kv, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Load(q + 2 * hd + d), kv, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Load(q + 3 * hd + d), kv, a3);
            }
            score[0] = Vector256.Sum(a0) * scale; score[stride] = Vector256.Sum(a1) * scale;
            score[2 * stride] = Vector256.Sum(a2) * scale; score[3 * stride] = Vector256.Sum(a3) * scale;
        }

        /// <summary>o[h] = Σ visible slots p[h, s]·v[s], slot after slot, for all heads of the group: each value vector is
        /// read once per block of 32 dimensions.</summary>
        private static void WeightedValues(float* p, int slots, bool[] visible, float* values, int hd, int group, float* o)
        {
            int d0 = 0;
            for (; d0 + 16 <= hd; d0 += 16)
            {
                int h0 = 0;
                for (; h0 + 4 <= group; h0 += 4)
                {
                    Vector256<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
                    float* p0 = p + h0 * slots;
                    for (int s = 0; s < slots; s++)
                    {
                        if (!visible[s]) continue;
                        float* v = values + (long)s * hd + d0;
                        var v0 = Vector256.Load(v); var v1 = Vector256.Load(v + 8);
                        var w = Vector256.Create(p0[s]); a0 = Vector256.FusedMultiplyAdd(w, v0, a0); b0 = Vector256.FusedMultiplyAdd(w, v1, b0);
                        w = Vector256.Create(p0[slots + s]); a1 = Vector256.FusedMultiplyAdd(w, v0, a1); b1 = Vector256.FusedMultiplyAdd(w, v1, b1);
                        w = Vector256.Create(p0[2 * slots + s]); a2 = Vector256.FusedMultiplyAdd(w, v0, a2); b2 = Vector256.FusedMultiplyAdd(w, v1, b2);
                        w = Vector256.Create(p0[3 * slots + s]); a3 = Vector256.FusedMultiplyAdd(w, v0, a3); b3 = Vector256.FusedMultiplyAdd(w, v1, b3);
                    }
                    float* oh = o + h0 * hd + d0;
                    a0.Store(oh); b0.Store(oh + 8); a1.Store(oh + hd); b1.Store(oh + hd + 8);
                    a2.Store(oh + 2 * hd); b2.Store(oh + 2 * hd + 8); a3.Store(oh + 3 * hd); b3.Store(oh + 3 * hd + 8);
                }
                for (; h0 < group; h0++) WeightedValuesScalar(p + h0 * slots, slots, visible, values, hd, d0, d0 + 16, o + h0 * hd);
            }
            for (int h = 0; h < group; h++) WeightedValuesScalar(p + h * slots, slots, visible, values, hd, d0, hd, o + h * hd);
        }

        /// <summary>Dimensions [d0, d1) of one head, one at a time: the same per-element operations as the vector loop.</summary>
        private static void WeightedValuesScalar(float* p, int slots, bool[] visible, float* values, int hd, int d0, int d1, float* o)
        {
            for (int d = d0; d < d1; d++)
            {
                float acc = 0;
                for (int s = 0; s < slots; s++)
                    if (visible[s]) acc = MathF.FusedMultiplyAdd(p[s], values[(long)s * hd + d], acc);
                o[d] = acc;
            }
        }
    }
}
