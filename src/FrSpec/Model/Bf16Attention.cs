using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FrSpec.Numerics;
using FrSpec.Numerics.CodeGen;

namespace FrSpec.Model;

/// <summary>
/// <see cref="Attention"/> over a bf16 KV cache (the fast precision on vdpbf16ps kernels): the same tiles of
/// (KV head, ~16 query rows), the same softmax over each row's visible sequence, half the bytes read.
///
/// Scores: the tile's query rows, scaled by 1/√headDim and rounded to bf16, are packed by dimension pair
/// ([pair][row], one dword each); a 16-slot key block is stored [pair][16 slots][2], the panel layout of
/// <see cref="Bf16PanelKernels"/>, so one panel-kernel call computes a block's scores for up to 12 rows: per step one
/// key vector (16 slots × one dimension pair), one broadcast query pair per row, one vdpbf16ps per row.
///
/// Weighted values: each output element is a chain of fp32 FMAs over the row's visible sequence in order, starting
/// from zero, with the values widened from bf16 (a value vector holds 16 dimensions of a slot pair: a shift gives the
/// even slot, a mask the odd one). Rows share value loads exactly as in the f32 kernel.
///
/// Batch invariance: a score is one lane's chain of vdpbf16ps over the dimension pairs in order from zero (one kernel
/// call walks all pairs), whatever block or row block it lands in; rounding q·scale to bf16 is element-wise. The
/// softmax and the weighted sum follow the f32 kernel's order (see <see cref="Attention"/>), so a token's output is
/// the same bits in a tree pass, a one-token decode and any prefill tile.
/// </summary>
internal static unsafe class Bf16Attention
{
    [ThreadStatic] private static Job? t_job;

    public static void Compute(Numerics.Compute compute, Bf16PanelKernels kernels, float[] q, float[] output, int n, int heads, int kvHeads,
        int headDim, KvCache cache, int layer, AttentionMask mask)
    {
        var job = t_job ??= new Job();
        int group = heads / kvHeads, tileTokens = Math.Clamp(Attention.TileRows / group, 1, n);
        job.Kernels = kernels; job.Q = q; job.Output = output; job.Heads = heads; job.Group = group; job.HeadDim = headDim; job.N = n;
        job.Cache = cache; job.Layer = layer; job.Mask = mask;
        job.TileTokens = tileTokens; job.Tiles = (n + tileTokens - 1) / tileTokens;
        job.Scale = 1f / MathF.Sqrt(headDim);
        int items = job.Tiles * kvHeads;
        compute.Pool.For(items, job, 1, items);
        job.Cache = null!; job.Mask = null!; job.Q = null!; job.Output = null!; job.Kernels = null!;
    }

    private sealed class Job : IRangeJob
    {
        public Bf16PanelKernels Kernels = null!;
        public float[] Q = null!, Output = null!;
        public int Heads, Group, HeadDim, Layer, N, TileTokens, Tiles;
        public float Scale;
        public KvCache Cache = null!;
        public AttentionMask Mask = null!;
        [ThreadStatic] private static float[]? t_scores;
        [ThreadStatic] private static int[]? t_visible;
        [ThreadStatic] private static uint[]? t_queries;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int start, int end)
        {
            int slots = Mask.TotalSlots, prefix = Mask.PrefixLength, group = Group, hd = HeadDim, pending = slots - prefix, block = KvCache.SlotBlock;
            int tileTokens = TileTokens, qStride = Heads * hd, n = N, pairs = hd / 2;
            int maxRows = tileTokens * group, maxPadded = (slots + block - 1) / block * block;
            var scores = t_scores;
            if (scores == null || scores.Length < maxRows * maxPadded)
                t_scores = scores = GC.AllocateUninitializedArray<float>(Math.Max(maxRows * maxPadded, 4096), pinned: true);
            var visible = t_visible;
            if (visible == null || visible.Length < tileTokens * (pending + 1))
                t_visible = visible = new int[Math.Max(tileTokens * (pending + 1), 1024)];
            var queries = t_queries;
            if (queries == null || queries.Length < maxRows * pairs)
                t_queries = queries = GC.AllocateUninitializedArray<uint>(Math.Max(maxRows * pairs, 1024), pinned: true);
            float** qRows = stackalloc float*[Attention.MaxRows];
            float** oRows = stackalloc float*[Attention.MaxRows];
            int* counts = stackalloc int[Attention.MaxRows];
            fixed (float* pq = Q, po = Output, ps = scores)
            fixed (ushort* pk = Cache.Keys16[Layer], pv = Cache.Values16[Layer])
            fixed (uint* qp = queries)
            fixed (int* vis = visible)
            {
                for (int idx = start; idx < end; idx++)
                {
                    int g = idx / Tiles, t0 = idx % Tiles * tileTokens, tokens = Math.Min(tileTokens, n - t0), rows = tokens * group;
                    int last = Attention.VisiblePending(Mask, t0, tokens, vis, counts);
                    for (int r = 0; r < rows; r++)
                    {
                        long offset = (long)(t0 + r / group) * qStride + (long)(g * group + r % group) * hd;
                        qRows[r] = pq + offset;
                        oRows[r] = po + offset;
                    }
                    int padded = (last + block - 1) / block * block;
                    PackQueries(qRows, rows, pairs, Scale, qp);
                    Scores(Kernels, qp, rows, pairs, pk + Cache.KeyBase(g), padded, ps);
                    for (int i = 0; i < tokens; i++)
                        Attention.Softmax(ps + i * group * padded, padded, group, prefix, vis + i * pending, counts[i]);
                    WeightedValues(ps, padded, rows, group, prefix, vis, pending, counts, pv + Cache.KeyBase(g), hd, oRows);
                }
            }
        }

        /// <summary>Row blocks of at most <see cref="Bf16PanelKernels.MaxActs"/> rows, as even as possible: block b of
        /// <paramref name="blocks"/> starting at row i0 has this many rows.</summary>
        private static int BlockRows(int rows, int blocks, int b, int i0) => (rows - i0) / (blocks - b);

        private static int Blocks(int rows) => (rows + Bf16PanelKernels.MaxActs - 1) / Bf16PanelKernels.MaxActs;

        /// <summary>Rounds scale·q of every row to bf16 and packs each row block's dimension pairs as
        /// qp[i0·pairs + pair·m + j] (row i0 + j of a block of m rows): the activation operand of a panel kernel.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void PackQueries(float** q, int rows, int pairs, float scale, uint* qp)
        {
            int blocks = Blocks(rows);
            for (int b = 0, i0 = 0; b < blocks; b++)
            {
                int m = BlockRows(rows, blocks, b, i0);
                uint* x = qp + (long)i0 * pairs;
                for (int j = 0; j < m; j++)
                {
                    float* row = q[i0 + j];
                    for (int p = 0; p < pairs; p++)
                        x[p * m + j] = Bf16.FromFloat(row[2 * p] * scale) | (uint)Bf16.FromFloat(row[2 * p + 1] * scale) << 16;
                }
                i0 += m;
            }
        }

        /// <summary>p[r, s] = bf16(scale·q_r) · k_s for every row and every slot below <paramref name="padded"/> (a
        /// multiple of 16; slots a row does not see are computed and never used): block by block, each 16-slot key
        /// block read by the row blocks in turn while it is in L1.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Scores(Bf16PanelKernels kernels, uint* qp, int rows, int pairs, ushort* keys, int padded, float* p)
        {
            int blocks = Blocks(rows), block = KvCache.SlotBlock;
            DotArgs args = default;
            args.K = pairs; args.Rows = 0; args.Prefetch = 0; args.YStride = 4L * padded;
            for (int s0 = 0; s0 < padded; s0 += block)
            {
                args.W = (nint)(keys + (long)s0 * 2 * pairs);
                for (int b = 0, i0 = 0; b < blocks; b++)
                {
                    int m = BlockRows(rows, blocks, b, i0);
                    args.X = (nint)(qp + (long)i0 * pairs);
                    args.XStride = 4L * m;
                    args.Y = (nint)(p + (long)i0 * padded + s0);
                    kernels.Kernel(1, m)(&args);
                    i0 += m;
                }
            }
        }

        /// <summary>o[r] = Σ_k p[r, k]·v[slot k] over each row's visible sequence, as the f32 kernel's WeightedValues:
        /// rows 4 at a time over the part of the sequence they share, chunk by chunk, then each row alone over the rest.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void WeightedValues(float* p, int stride, int rows, int group, int prefix, int* visible, int pending, int* counts,
            ushort* values, int hd, float** o)
        {
            for (int r = 0; r < rows; r++) new Span<float>(o[r], hd).Clear();
            int quads = rows / 4, chunk = Math.Max(16, Attention.ValueChunkBytes / (2 * hd)), longest = 0;
            int* common = stackalloc int[Attention.MaxRows / 4 + 1];
            for (int i = 0; i < quads; i++) longest = Math.Max(longest, common[i] = Attention.CommonLength(4 * i, group, prefix, visible, pending, counts));
            for (int k0 = 0; k0 < longest; k0 += chunk)
                for (int i = 0; i < quads; i++)
                {
                    int k1 = Math.Min(k0 + chunk, common[i]);
                    if (k0 < k1) Accumulate4(p + (long)4 * i * stride, stride, k0, k1, prefix, visible + 4 * i / group * pending, values, hd, o + 4 * i);
                }
            for (int r = 0; r < rows; r++)
            {
                int token = r / group, from = r < 4 * quads ? common[r / 4] : 0;
                Accumulate(p + (long)r * stride, from, prefix + counts[token], prefix, visible + token * pending, values, hd, 0, o[r]);
            }
        }

        /// <summary>16 dimensions [d0, d0 + 16) of slot <paramref name="slot"/>, widened: its slot pair's vector, shifted
        /// (even slot) or masked (odd slot).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Value16(ushort* values, int hd, int slot, int d0)
        {
            var v = Vector512.Load((uint*)(values + (long)(slot >> 1) * 2 * hd) + d0);
            return ((slot & 1) == 0 ? v << 16 : v & Vector512.Create(0xFFFF0000u)).AsSingle();
        }

        /// <summary>8 dimensions [d0, d0 + 8) of a slot, widened (as <see cref="Value16"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Value8(ushort* values, int hd, int slot, int d0)
        {
            var v = Vector256.Load((uint*)(values + (long)(slot >> 1) * 2 * hd) + d0);
            return ((slot & 1) == 0 ? v << 16 : v & Vector256.Create(0xFFFF0000u)).AsSingle();
        }

        /// <summary>Sequence indices [k0, k1) of 4 rows whose sequences agree there, added to their accumulators in o,
        /// 32 dimensions at a time (each value vector shared by the 4 rows); other dimensions row by row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Accumulate4(float* p, int stride, int k0, int k1, int prefix, int* visible, ushort* values, int hd, float** o)
        {
            int d0 = 0;
            float* oa = o[0], ob = o[1], oc = o[2], od = o[3];
            for (; d0 + 32 <= hd; d0 += 32)
            {
                var a0 = Vector512.Load(oa + d0); var b0 = Vector512.Load(oa + d0 + 16); var a1 = Vector512.Load(ob + d0); var b1 = Vector512.Load(ob + d0 + 16);
                var a2 = Vector512.Load(oc + d0); var b2 = Vector512.Load(oc + d0 + 16); var a3 = Vector512.Load(od + d0); var b3 = Vector512.Load(od + d0 + 16);
                for (int k = k0; k < k1; k++)
                {
                    int slot = k < prefix ? k : visible[k - prefix];
                    var v0 = Value16(values, hd, slot, d0); var v1 = Value16(values, hd, slot, d0 + 16);
                    var w = Vector512.Create(p[k]); a0 = Vector512.FusedMultiplyAdd(w, v0, a0); b0 = Vector512.FusedMultiplyAdd(w, v1, b0);
                    w = Vector512.Create(p[stride + k]); a1 = Vector512.FusedMultiplyAdd(w, v0, a1); b1 = Vector512.FusedMultiplyAdd(w, v1, b1);
                    w = Vector512.Create(p[2 * stride + k]); a2 = Vector512.FusedMultiplyAdd(w, v0, a2); b2 = Vector512.FusedMultiplyAdd(w, v1, b2);
                    w = Vector512.Create(p[3 * stride + k]); a3 = Vector512.FusedMultiplyAdd(w, v0, a3); b3 = Vector512.FusedMultiplyAdd(w, v1, b3);
                }
                a0.Store(oa + d0); b0.Store(oa + d0 + 16); a1.Store(ob + d0); b1.Store(ob + d0 + 16);
                a2.Store(oc + d0); b2.Store(oc + d0 + 16); a3.Store(od + d0); b3.Store(od + d0 + 16);
            }
            if (d0 < hd)
                for (int j = 0; j < 4; j++) Accumulate(p + (long)j * stride, k0, k1, prefix, visible, values, hd, d0, o[j]);
        }

        /// <summary>Sequence indices [k0, k1) of one row, dimensions [d0, hd), added to its accumulator o: 32, 16, 8 and
        /// then one dimension at a time; every element gets the same fused multiply-adds in the same order on every path.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Accumulate(float* p, int k0, int k1, int prefix, int* visible, ushort* values, int hd, int d0, float* o)
        {
            if (k0 >= k1) return;
            for (; d0 + 32 <= hd; d0 += 32)
            {
                var a = Vector512.Load(o + d0); var b = Vector512.Load(o + d0 + 16);
                for (int k = k0; k < k1; k++)
                {
                    int slot = k < prefix ? k : visible[k - prefix];
                    var w = Vector512.Create(p[k]);
                    a = Vector512.FusedMultiplyAdd(w, Value16(values, hd, slot, d0), a);
                    b = Vector512.FusedMultiplyAdd(w, Value16(values, hd, slot, d0 + 16), b);
                }
                a.Store(o + d0); b.Store(o + d0 + 16);
            }
            for (; d0 + 16 <= hd; d0 += 16)
            {
                var a = Vector512.Load(o + d0);
                for (int k = k0; k < k1; k++)
                {
                    int slot = k < prefix ? k : visible[k - prefix];
                    a = Vector512.FusedMultiplyAdd(Vector512.Create(p[k]), Value16(values, hd, slot, d0), a);
                }
                a.Store(o + d0);
            }
            for (; d0 + 8 <= hd; d0 += 8)
            {
                var a = Vector256.Load(o + d0);
                for (int k = k0; k < k1; k++)
                {
                    int slot = k < prefix ? k : visible[k - prefix];
                    a = Vector256.FusedMultiplyAdd(Vector256.Create(p[k]), Value8(values, hd, slot, d0), a);
                }
                a.Store(o + d0);
            }
            for (int d = d0; d < hd; d++)
            {
                float acc = o[d];
                for (int k = k0; k < k1; k++)
                {
                    int slot = k < prefix ? k : visible[k - prefix];
                    acc = MathF.FusedMultiplyAdd(p[k], Bf16.ToFloat(values[(long)(slot >> 1) * 2 * hd + 2 * d + (slot & 1)]), acc);
                }
                o[d] = acc;
            }
        }
    }
}
