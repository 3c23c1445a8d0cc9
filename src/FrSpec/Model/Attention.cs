using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FrSpec.Numerics;

namespace FrSpec.Model;

/// <summary>
/// Masked multi-head attention of n new queries over the KV cache (grouped-query: several query heads share a
/// KV head).
///
/// Blocking: the work is split into (KV head, tile of tokens) items, a tile holding about <see cref="TileRows"/> query
/// rows (its tokens × the query heads of the group), because every row of a tile reads the same keys and values: one
/// item walks the head's keys once for all its rows, 2·Count slots at a time (a block of 8 KB at head size 64, which
/// stays in L1 while the tile's rows pass over it 4 at a time), and its values once per chunk of
/// <see cref="ValueChunkBytes"/>. Scoring one token at a time re-read the whole K and V of the head from L2 for every
/// token.
///
/// Scores are vectorised over slots: keys are stored transposed in blocks of 16 slots (<see cref="KvCache"/>), so one
/// broadcast query element meets 2·Count keys per step, 4 rows at a time (8 accumulators), with nothing to sum
/// across lanes. The weighted sum of values is vectorised over dimensions (2 vectors × 4 rows per pass).
///
/// Batch invariance: a token's output must be the same bits in a tree pass (its ancestors among the new slots), in a
/// one-token decode (the same ancestors, now committed, at other slot indices) and in any tile of a prefill chunk.
/// Each score is one lane's chain of FMAs over the head dimension, whatever lane, block or tile it lands in. The
/// softmax and the weighted values then work on the token's visible sequence: the prefix, then its visible pending
/// slots moved up to follow it, so that every pass sees the same values at the same indices. Max, exp
/// (<see cref="VectorExp"/>), subtraction and scaling are element-wise; the denominator is summed 16 lanes by index
/// with a fixed final reduction; each output element is one chain of FMAs over the sequence in order, starting from
/// zero. The tiling only decides which rows share a load: rows share the part of the sequence they have in common
/// (the prefix and common ancestors), each row finishes its own part alone, and an accumulator parked in the output
/// between chunks is an fp32 store and load, which changes no bits.
/// </summary>
internal static class Attention
{
    internal const int MaxGroup = 16;
    /// <summary>Query rows (tokens × query heads of a group) a tile aims for: enough to reuse each key block 4+ times,
    /// few enough that the tile's scores (rows × slots) stay in L2 next to the head's keys and values.</summary>
    internal const int TileRows = 16;
    /// <summary>Bytes of values one pass of a tile's rows reads before the next row group reuses them (L1-resident).</summary>
    internal const int ValueChunkBytes = 16 * 1024;
    /// <summary>Most query rows one tile holds.</summary>
    internal const int MaxRows = TileRows > MaxGroup ? TileRows : MaxGroup;
    [ThreadStatic] private static Job? t_job;

    /// <summary>Attention of the n query rows <paramref name="q"/> [n, heads·headDim] over layer <paramref name="layer"/> of
    /// the cache into <paramref name="output"/>, on <paramref name="compute"/>'s pool with its vector width (AVX-512
    /// lanes only on the Avx512 path; both widths give the same bits).</summary>
    public static void Compute(Numerics.Compute compute, float[] q, float[] output, int n, int heads, int kvHeads, int headDim, KvCache cache, int layer, AttentionMask mask)
    {
        if (heads / kvHeads > MaxGroup) throw new FrSpecException($"{heads / kvHeads} query heads per KV head exceed {MaxGroup}");
        if (n == 0) return;
        if (cache.IsBf16)
        {
            var kernels = compute.Generated?.Bf16Panels ?? throw new FrSpecException("a bf16 KV cache needs the generated vdpbf16ps kernels (fast precision with code generation on an AVX512_BF16 CPU)");
            Bf16Attention.Compute(compute, kernels, q, output, n, heads, kvHeads, headDim, cache, layer, mask);
            return;
        }
        var job = t_job ??= new Job();
        int group = heads / kvHeads, tileTokens = Math.Clamp(TileRows / group, 1, n);
        job.Q = q; job.Output = output; job.Heads = heads; job.KvHeads = kvHeads; job.Group = group; job.HeadDim = headDim; job.N = n;
        job.Cache = cache; job.Layer = layer; job.Mask = mask;
        job.TileTokens = tileTokens; job.Tiles = (n + tileTokens - 1) / tileTokens;
        job.Scale = 1f / MathF.Sqrt(headDim);
        job.Wide = compute.Isa == Isa.Avx512 && Vector512.IsHardwareAccelerated;
        // one (KV head, tile) item per chunk: a coarse chunk is what a region can leave one thread waiting for
        int items = job.Tiles * kvHeads;
        compute.Pool.For(items, job, 1, items);
        job.Cache = null!; job.Mask = null!; job.Q = null!; job.Output = null!;
    }

    /// <summary>For each of the tile's tokens [t0, t0 + tokens): the pending slots it sees, in order, into
    /// visible + i·pending, and their count into counts[i]. Returns one past the last slot any of them sees (at least the
    /// prefix length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe int VisiblePending(AttentionMask mask, int t0, int tokens, int* visible, int* counts)
    {
        int prefix = mask.PrefixLength, slots = mask.TotalSlots, pending = slots - prefix, last = prefix;
        for (int i = 0; i < tokens; i++)
        {
            int* v = visible + i * pending;
            int count = 0;
            for (int s = prefix; s < slots; s++)
                if (mask.IsVisible(t0 + i, s)) v[count++] = s;
            counts[i] = count;
            if (count > 0) last = Math.Max(last, v[count - 1] + 1);
        }
        return last;
    }

    /// <summary>
    /// Each head's scores → probabilities over the visible slots in order: the prefix, then the <paramref name="count"/>
    /// visible pending slots <paramref name="visible"/>, whose scores are first moved to follow the prefix (row[prefix + j]
    /// ← row[visible[j]]). The row is then the token's visible sequence, the same values at the same indices whether
    /// its ancestors are pending slots of a tree or committed ones, so the denominator can be summed 16 lanes at a time
    /// (lane = index mod 16, then a fixed reduction) and stay batch-invariant. With <paramref name="factors"/> the rows are
    /// left as exponentials and head h's normalising factor goes to factors[h] (1/sum, or 1 where the row is not scaled),
    /// for a caller that multiplies as it reads: each probability is then the same single product.
    /// Written once over the vector width <typeparamref name="TL"/> (the caller's choice), 16 elements per step: one
    /// 16-lane vector or two 8-lane ones hold the same 16 lanes and run the same operations on them, so both widths give
    /// the same bits. Everything here is written out on vectors rather than through TensorPrimitives: its AVX-512 code
    /// is compiled at run time and starts at tier 0, several times slower, for the first thousands of calls.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Softmax<TL, TV>(float* p, int stride, int group, int prefix, int* visible, int count, float* factors = null)
        where TL : ISimdLanes<TV> where TV : struct
    {
        int length = prefix + count;
        bool two = TL.Count == 8; // a step's second 8 lanes in their own vector
        float* tail = stackalloc float[16];
        for (int h = 0; h < group; h++)
        {
            float* row = p + h * stride;
            if (factors != null) factors[h] = 1f;
            for (int j = 0; j < count; j++) row[prefix + j] = row[visible[j]]; // visible[j] ≥ prefix + j: a forward move
            if (length == 0) continue;
            float max = Ops.Max<TL, TV>(row, length);
            if (float.IsNegativeInfinity(max)) { new Span<float>(row, length).Clear(); continue; }
            // e^(s − max), the subtraction as its own rounding step (as VectorExp.Exp); the tail padded with −∞, whose
            // exponentials are exact zeros in the sums
            var m = TL.Broadcast(max);
            TV a0 = TL.Zero, a1 = TL.Zero;
            int k = 0;
            for (; k + 16 <= length; k += 16)
            {
                var e0 = VectorExp.Exp<TL, TV>(TL.Subtract(TL.Load(row + k), m));
                TL.Store(e0, row + k);
                a0 = TL.Add(a0, e0);
                if (two)
                {
                    var e1 = VectorExp.Exp<TL, TV>(TL.Subtract(TL.Load(row + k + 8), m));
                    TL.Store(e1, row + k + 8);
                    a1 = TL.Add(a1, e1);
                }
            }
            if (k < length)
            {
                for (int i = 0; i < 16; i++) tail[i] = k + i < length ? row[k + i] : float.NegativeInfinity;
                var e0 = VectorExp.Exp<TL, TV>(TL.Subtract(TL.Load(tail), m));
                TL.Store(e0, tail);
                a0 = TL.Add(a0, e0);
                if (two)
                {
                    var e1 = VectorExp.Exp<TL, TV>(TL.Subtract(TL.Load(tail + 8), m));
                    TL.Store(e1, tail + 8);
                    a1 = TL.Add(a1, e1);
                }
                for (int i = 0; k + i < length; i++) row[k + i] = tail[i];
            }
            // the fixed reduction of the 16 lane sums: lane l + 8 onto lane l, then Vector256.Sum's order
            TL.Store(a0, tail);
            if (two) TL.Store(a1, tail + 8);
            float sum = Vector256.Sum(Vector256.Load(tail) + Vector256.Load(tail + 8));
            if (sum > 0)
            {
                if (factors != null) factors[h] = 1f / sum;
                else Ops.Scale<TL, TV>(row, length, 1f / sum);
            }
        }
    }

    /// <summary>The length of the sequence rows [r0, r0 + 4) share: the prefix, then the visible pending slots their
    /// tokens have in common from the start (all of them for the query heads of one token; the earlier token's for
    /// causal rows; the common ancestors in a tree).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe int CommonLength(int r0, int group, int prefix, int* visible, int pending, int* counts)
    {
        int first = r0 / group, length = counts[first];
        int* a = visible + first * pending;
        for (int token = first + 1; token <= (r0 + 3) / group; token++)
        {
            int* b = visible + token * pending;
            int j = 0, m = Math.Min(length, counts[token]);
            while (j < m && a[j] == b[j]) j++;
            length = j;
        }
        return prefix + length;
    }

    private sealed unsafe class Job : IRangeJob
    {
        public float[] Q = null!, Output = null!;
        public int Heads, KvHeads, Group, HeadDim, Layer, N, TileTokens, Tiles;
        public float Scale;
        public bool Wide;
        public KvCache Cache = null!;
        public AttentionMask Mask = null!;
        [ThreadStatic] private static float[]? t_scores;
        [ThreadStatic] private static int[]? t_visible;


        public void Execute(int start, int end)
        {
            if (Wide) Run<Lanes512, Vector512<float>>(start, end);
            else Run<Lanes256, Vector256<float>>(start, end);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Run<TL, TV>(int start, int end) where TL : ISimdLanes<TV> where TV : struct
        {
            int slots = Mask.TotalSlots, prefix = Mask.PrefixLength, group = Group, hd = HeadDim, pending = slots - prefix;
            int chunk = 2 * TL.Count, tileTokens = TileTokens, qStride = Heads * hd, n = N;
            int maxRows = tileTokens * group, maxPadded = (slots + chunk - 1) / chunk * chunk;
            var scores = t_scores;
            if (scores == null || scores.Length < maxRows * maxPadded)
                t_scores = scores = GC.AllocateUninitializedArray<float>(Math.Max(maxRows * maxPadded, 4096), pinned: true);
            var visible = t_visible;
            if (visible == null || visible.Length < tileTokens * (pending + 1))
                t_visible = visible = new int[Math.Max(tileTokens * (pending + 1), 1024)];
            float** qRows = stackalloc float*[MaxRows];
            float** oRows = stackalloc float*[MaxRows];
            int* counts = stackalloc int[MaxRows];
            fixed (float* pq = Q, po = Output, pk = Cache.Keys[Layer], pv = Cache.Values[Layer], ps = scores)
            fixed (int* vis = visible)
            {
                for (int idx = start; idx < end; idx++)
                {
                    // item by item within a KV head: consecutive items read the same keys and values, which stay in L2
                    int g = idx / Tiles, t0 = idx % Tiles * tileTokens, tokens = Math.Min(tileTokens, n - t0), rows = tokens * group;
                    int last = VisiblePending(Mask, t0, tokens, vis, counts);
                    for (int r = 0; r < rows; r++)
                    {
                        long offset = (long)(t0 + r / group) * qStride + (long)(g * group + r % group) * hd;
                        qRows[r] = pq + offset;
                        oRows[r] = po + offset;
                    }
                    int padded = (last + chunk - 1) / chunk * chunk;

                    Scores<TL, TV>(qRows, rows, hd, pk + Cache.KeyBase(g), padded, ps, Scale);
                    for (int i = 0; i < tokens; i++)
                        Softmax<TL, TV>(ps + i * group * padded, padded, group, prefix, vis + i * pending, counts[i]);
                    WeightedValues<TL, TV>(ps, padded, rows, group, prefix, vis, pending, counts, pv + Cache.Offset(g, 0), hd, oRows);
                }
            }
        }

        /// <summary>p[r, s] = scale·(q_r · k_s) for the <paramref name="rows"/> query rows and every slot below
        /// <paramref name="padded"/> (slots a row does not see, or past the context, are computed and never used),
        /// 2·Count slots per step; each key block is read by all rows, 4 at a time, while it is in L1.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Scores<TL, TV>(float** q, int rows, int hd, float* keys, int padded, float* p, float scale)
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
                int r = 0;
                for (; r + 4 <= rows; r += 4)
                {
                    float* qa = q[r], qb = q[r + 1], qc = q[r + 2], qd = q[r + 3];
                    TV a0 = TL.Zero, b0 = TL.Zero, a1 = TL.Zero, b1 = TL.Zero, a2 = TL.Zero, b2 = TL.Zero, a3 = TL.Zero, b3 = TL.Zero;
                    for (int d = 0; d < hd; d++)
                    {
                        var x0 = TL.Load(k0 + d * block); var x1 = TL.Load(k1 + d * block);
                        var w = TL.Broadcast(qa[d]); a0 = TL.Fma(w, x0, a0); b0 = TL.Fma(w, x1, b0);
                        w = TL.Broadcast(qb[d]); a1 = TL.Fma(w, x0, a1); b1 = TL.Fma(w, x1, b1);
                        w = TL.Broadcast(qc[d]); a2 = TL.Fma(w, x0, a2); b2 = TL.Fma(w, x1, b2);
                        w = TL.Broadcast(qd[d]); a3 = TL.Fma(w, x0, a3); b3 = TL.Fma(w, x1, b3);
                    }
                    float* pr = p + (long)r * padded + s0;
                    TL.Store(TL.Multiply(a0, sc), pr); TL.Store(TL.Multiply(b0, sc), pr + n);
                    TL.Store(TL.Multiply(a1, sc), pr + padded); TL.Store(TL.Multiply(b1, sc), pr + padded + n);
                    TL.Store(TL.Multiply(a2, sc), pr + 2 * padded); TL.Store(TL.Multiply(b2, sc), pr + 2 * padded + n);
                    TL.Store(TL.Multiply(a3, sc), pr + 3 * padded); TL.Store(TL.Multiply(b3, sc), pr + 3 * padded + n);
                }
                for (; r < rows; r++)
                {
                    float* qa = q[r];
                    TV a0 = TL.Zero, b0 = TL.Zero;
                    for (int d = 0; d < hd; d++)
                    {
                        var w = TL.Broadcast(qa[d]);
                        a0 = TL.Fma(w, TL.Load(k0 + d * block), a0); b0 = TL.Fma(w, TL.Load(k1 + d * block), b0);
                    }
                    float* pr = p + (long)r * padded + s0;
                    TL.Store(TL.Multiply(a0, sc), pr); TL.Store(TL.Multiply(b0, sc), pr + n);
                }
            }
        }

        /// <summary>
        /// o[r] = Σ_k p[r, k]·v[slot k] over each row's visible sequence (the prefix, then its visible pending slots, in
        /// the order of <see cref="Softmax{TL, TV}"/>'s rows). Rows go 4 at a time over the part of the sequence the 4 have in
        /// common, chunk by chunk, so that each chunk of values is read from L1 by every row group; then each row runs
        /// alone over the rest of its sequence. Accumulators start at zero in the output and are parked there between
        /// the passes.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void WeightedValues<TL, TV>(float* p, int stride, int rows, int group, int prefix, int* visible, int pending, int* counts,
            float* values, int hd, float** o)
            where TL : ISimdLanes<TV> where TV : struct
        {
            for (int r = 0; r < rows; r++) new Span<float>(o[r], hd).Clear();
            int quads = rows / 4, chunk = Math.Max(16, ValueChunkBytes / (4 * hd)), longest = 0;
            int* common = stackalloc int[MaxRows / 4 + 1];
            for (int i = 0; i < quads; i++) longest = Math.Max(longest, common[i] = CommonLength(4 * i, group, prefix, visible, pending, counts));
            for (int k0 = 0; k0 < longest; k0 += chunk)
                for (int i = 0; i < quads; i++)
                {
                    int k1 = Math.Min(k0 + chunk, common[i]);
                    if (k0 < k1) Accumulate4<TL, TV>(p + (long)4 * i * stride, stride, k0, k1, prefix, visible + 4 * i / group * pending, values, hd, o + 4 * i);
                }
            for (int r = 0; r < rows; r++)
            {
                int token = r / group, from = r < 4 * quads ? common[r / 4] : 0;
                Accumulate<TL, TV>(p + (long)r * stride, from, prefix + counts[token], prefix, visible + token * pending, values, hd, 0, hd, o[r]);
            }
        }

        /// <summary>Sequence indices [k0, k1) of 4 rows whose sequences agree there (<paramref name="visible"/>: the
        /// first row's pending slots), added to their accumulators in o; each value vector is read once per block of
        /// 2·Count dimensions and shared by the 4 rows.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Accumulate4<TL, TV>(float* p, int stride, int k0, int k1, int prefix, int* visible, float* values, int hd, float** o)
            where TL : ISimdLanes<TV> where TV : struct
        {
            int n = TL.Count, d0 = 0;
            float* oa = o[0], ob = o[1], oc = o[2], od = o[3];
            for (; d0 + 2 * n <= hd; d0 += 2 * n)
            {
                TV a0 = TL.Load(oa + d0), b0 = TL.Load(oa + d0 + n), a1 = TL.Load(ob + d0), b1 = TL.Load(ob + d0 + n);
                TV a2 = TL.Load(oc + d0), b2 = TL.Load(oc + d0 + n), a3 = TL.Load(od + d0), b3 = TL.Load(od + d0 + n);
                for (int k = k0; k < k1; k++)
                {
                    int slot = k < prefix ? k : visible[k - prefix];
                    float* v = values + (long)slot * hd + d0;
                    var v0 = TL.Load(v); var v1 = TL.Load(v + n);
                    var w = TL.Broadcast(p[k]); a0 = TL.Fma(w, v0, a0); b0 = TL.Fma(w, v1, b0);
                    w = TL.Broadcast(p[stride + k]); a1 = TL.Fma(w, v0, a1); b1 = TL.Fma(w, v1, b1);
                    w = TL.Broadcast(p[2 * stride + k]); a2 = TL.Fma(w, v0, a2); b2 = TL.Fma(w, v1, b2);
                    w = TL.Broadcast(p[3 * stride + k]); a3 = TL.Fma(w, v0, a3); b3 = TL.Fma(w, v1, b3);
                }
                TL.Store(a0, oa + d0); TL.Store(b0, oa + d0 + n); TL.Store(a1, ob + d0); TL.Store(b1, ob + d0 + n);
                TL.Store(a2, oc + d0); TL.Store(b2, oc + d0 + n); TL.Store(a3, od + d0); TL.Store(b3, od + d0 + n);
            }
            if (d0 < hd)
                for (int j = 0; j < 4; j++) Accumulate<TL, TV>(p + (long)j * stride, k0, k1, prefix, visible, values, hd, d0, hd, o[j]);
        }

        /// <summary>
        /// Sequence indices [k0, k1) of one row, dimensions [d0, d1), added to its accumulator o: 2·Count dimensions at
        /// a time, then Count, then one at a time; every element gets the same fused multiply-adds in the same order on
        /// every path, so the bits do not depend on the path.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Accumulate<TL, TV>(float* p, int k0, int k1, int prefix, int* visible, float* values, int hd, int d0, int d1, float* o)
            where TL : ISimdLanes<TV> where TV : struct
        {
            if (k0 >= k1) return;
            int n = TL.Count;
            for (; d0 + 2 * n <= d1; d0 += 2 * n)
            {
                TV a = TL.Load(o + d0), b = TL.Load(o + d0 + n);
                for (int k = k0; k < k1; k++)
                {
                    int slot = k < prefix ? k : visible[k - prefix];
                    float* v = values + (long)slot * hd + d0;
                    var w = TL.Broadcast(p[k]);
                    a = TL.Fma(w, TL.Load(v), a); b = TL.Fma(w, TL.Load(v + n), b);
                }
                TL.Store(a, o + d0); TL.Store(b, o + d0 + n);
            }
            for (; d0 + n <= d1; d0 += n)
            {
                TV a = TL.Load(o + d0);
                for (int k = k0; k < k1; k++)
                {
                    int slot = k < prefix ? k : visible[k - prefix];
                    a = TL.Fma(TL.Broadcast(p[k]), TL.Load(values + (long)slot * hd + d0), a);
                }
                TL.Store(a, o + d0);
            }
            for (int d = d0; d < d1; d++)
            {
                float acc = o[d];
                for (int k = k0; k < k1; k++)
                {
                    int slot = k < prefix ? k : visible[k - prefix];
                    acc = MathF.FusedMultiplyAdd(p[k], values[(long)slot * hd + d], acc);
                }
                o[d] = acc;
            }
        }
    }
}
