using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FrSpec.Numerics;
using FrSpec.Numerics.CodeGen;

namespace FrSpec.Model;

/// <summary>
/// <see cref="Attention"/> over a bf16 KV cache (the fast precision on vdpbf16ps kernels): the same tiles of
/// (KV head, ~16 query rows), the same softmax over each row's visible sequence, half the bytes read, and both
/// products on vdpbf16ps (twice the fp32 FMA rate).
///
/// Scores: the tile's query rows, scaled by 1/√headDim and rounded to bf16, are packed by dimension pair
/// ([pair][row], one dword each); a 16-slot key block is stored [pair][16 slots][2], the panel layout of
/// <see cref="Bf16PanelKernels"/>, so one panel-kernel call computes a block's scores for up to 12 rows: per step one
/// key vector (16 slots × one dimension pair), one broadcast query pair per row, one vdpbf16ps per row.
///
/// Weighted values: a step is a pair of sequence positions (2j, 2j + 1): the cache's value pair block [dims][2] when
/// both positions are their own slots (the prefix, and a pending run that continues it in order, as in a prefill
/// chunk), else a block gathered in sequence order into scratch (tree slots, a pair straddling the prefix end, the
/// last position of an odd-length sequence paired with zero); the probabilities are rounded to bf16 as dword pairs,
/// and <see cref="Bf16ValueKernels"/> adds each step into fp32 accumulators with one vdpbf16ps per 16 dimensions and
/// row. Rows share steps 4 at a time within the sequence they have in common.
///
/// Batch invariance: a score is one lane's chain of vdpbf16ps over the dimension pairs in order from zero (one kernel
/// call walks all pairs), whatever block or row block it lands in; rounding q·scale to bf16 is element-wise. The
/// softmax follows the f32 kernel (see <see cref="Attention"/>). An output element is one lane's chain of vdpbf16ps
/// over the steps j = 0, 1, … from zero, and step j holds the same bf16 values and probabilities whether it was read
/// in place or gathered, pending or committed, so a token's output is the same bits in a tree pass, a one-token decode
/// and any prefill tile.
/// </summary>
internal static unsafe class Bf16Attention
{
    [ThreadStatic] private static Job? t_job;

    public static void Compute(Numerics.Compute compute, Bf16PanelKernels kernels, float[] q, float[] output, int n, int heads, int kvHeads,
        int headDim, KvCache cache, int layer, AttentionMask mask)
    {
        var job = t_job ??= new Job();
        int group = heads / kvHeads, tileTokens = Math.Clamp(Attention.TileRows / group, 1, n);
        job.Kernels = kernels; job.ValueKernels = Bf16ValueKernels.ForThisMachine; job.Q = q; job.Output = output; job.Heads = heads; job.Group = group; job.HeadDim = headDim; job.N = n;
        job.Cache = cache; job.Layer = layer; job.Mask = mask;
        job.TileTokens = tileTokens; job.Tiles = (n + tileTokens - 1) / tileTokens;
        job.Scale = 1f / MathF.Sqrt(headDim);
        int items = job.Tiles * kvHeads;
        compute.Pool.For(items, job, 1, items);
        job.Cache = null!; job.Mask = null!; job.Q = null!; job.Output = null!; job.Kernels = null!; job.ValueKernels = null!;
    }

    private sealed class Job : IRangeJob
    {
        public Bf16PanelKernels Kernels = null!;
        public Bf16ValueKernels ValueKernels = null!;
        public float[] Q = null!, Output = null!;
        public int Heads, Group, HeadDim, Layer, N, TileTokens, Tiles;
        public float Scale;
        public KvCache Cache = null!;
        public AttentionMask Mask = null!;
        [ThreadStatic] private static float[]? t_scores;
        [ThreadStatic] private static int[]? t_visible;
        [ThreadStatic] private static uint[]? t_queries;
        [ThreadStatic] private static uint[]? t_probs;
        [ThreadStatic] private static ushort[]? t_gathered;
        [ThreadStatic] private static float[]? t_acc;

        /// <summary>A worker's scratch for the weighted values (pinned thread-local arrays).</summary>
        private struct Scratch
        {
            public float* Acc;        // [rows][headDim] fp32 accumulators
            public uint* RowProbs;    // [rows][MaxPairs] each row's probability pairs
            public ushort* Gathered;  // [MaxPairs][headDim][2] value blocks gathered in sequence order
            public int MaxPairs;
        }

        private static T[] Grow<T>(ref T[]? array, int length) where T : unmanaged
        {
            if (array == null || array.Length < length) array = GC.AllocateUninitializedArray<T>(Math.Max(length, 1024), pinned: true);
            return array;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int start, int end)
        {
            int slots = Mask.TotalSlots, prefix = Mask.PrefixLength, group = Group, hd = HeadDim, pending = slots - prefix, block = KvCache.SlotBlock;
            int tileTokens = TileTokens, qStride = Heads * hd, n = N, pairs = hd / 2;
            int maxRows = tileTokens * group, maxPadded = (slots + block - 1) / block * block;
            var scores = Grow(ref t_scores, maxRows * maxPadded);
            var visible = Grow(ref t_visible, tileTokens * (pending + 1));
            var queries = Grow(ref t_queries, maxRows * pairs);
            int maxPairs = slots / 2 + 1;
            var probs = Grow(ref t_probs, maxRows * maxPairs);
            var gathered = Grow(ref t_gathered, maxPairs * 2 * hd);
            var acc = Grow(ref t_acc, maxRows * hd);
            float** qRows = stackalloc float*[Attention.MaxRows];
            float** oRows = stackalloc float*[Attention.MaxRows];
            int* counts = stackalloc int[Attention.MaxRows];
            float* factors = stackalloc float[Attention.MaxRows];
            fixed (float* pq = Q, po = Output, ps = scores)
            fixed (ushort* pk = Cache.Keys16[Layer], pv = Cache.Values16[Layer])
            fixed (uint* qp = queries)
            fixed (int* vis = visible)
            fixed (uint* pp = probs)
            fixed (ushort* pg = gathered)
            fixed (float* pa = acc)
            {
                var scratch = new Scratch { Acc = pa, RowProbs = pp, Gathered = pg, MaxPairs = maxPairs };
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
                    {
                        float* rowScores = ps + i * group * padded, rowFactors = factors + i * group;
                        int* rowVisible = vis + i * pending;
                        if (Vector512.IsHardwareAccelerated) // either width gives the same bits
                            Attention.Softmax<Lanes512, Vector512<float>>(rowScores, padded, group, prefix, rowVisible, counts[i], rowFactors);
                        else Attention.Softmax<Lanes256, Vector256<float>>(rowScores, padded, group, prefix, rowVisible, counts[i], rowFactors);
                    }
                    WeightedValues(ps, factors, padded, rows, group, prefix, vis, pending, counts, pv + Cache.KeyBase(g), hd, oRows, &scratch);
                }
            }
        }

        /// <summary>Row blocks of at most <see cref="Bf16PanelKernels.MaxActs"/> rows, as even as possible: block b of
        /// <paramref name="blocks"/> starting at row i0 has this many rows.</summary>
        private static int BlockRows(int rows, int blocks, int b, int i0) => (rows - i0) / (blocks - b);

        private static int Blocks(int rows) => (rows + Bf16PanelKernels.MaxActs - 1) / Bf16PanelKernels.MaxActs;

        /// <summary>Rounds scale·q of every row to bf16 and packs each row block's dimension pairs as
        /// qp[i0·pairs + pair·m + j] (row i0 + j of a block of m rows): the activation operand of a panel kernel. A row's
        /// bf16 values in order are its dimension pairs as dwords, so each row is rounded on vectors, then its dwords
        /// are spread by the block's stride.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void PackQueries(float** q, int rows, int pairs, float scale, uint* qp)
        {
            int blocks = Blocks(rows);
            uint* row = stackalloc uint[pairs];
            for (int b = 0, i0 = 0; b < blocks; b++)
            {
                int m = BlockRows(rows, blocks, b, i0);
                uint* x = qp + (long)i0 * pairs;
                for (int j = 0; j < m; j++)
                {
                    Bf16.FromScaledFloats(q[i0 + j], scale, (ushort*)row, 2 * pairs);
                    for (int p = 0; p < pairs; p++) x[p * m + j] = row[p];
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

        /// <summary>
        /// o[r] = Σ_k p[r, k]·v[slot k] over each row's visible sequence on vdpbf16ps: step j is the sequence pair
        /// (2j, 2j + 1), the probabilities rounded to bf16 (position L of an odd-length sequence L weighs zero with a zero
        /// value). Rows go 4 at a time over the pairs inside the part of the sequence they share, then each row alone
        /// over the rest, accumulating in fp32 scratch rows copied to the output at the end.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void WeightedValues(float* p, float* factors, int stride, int rows, int group, int prefix, int* visible, int pending, int* counts,
            ushort* values, int hd, float** o, Scratch* s)
        {
            int maxPairs = s->MaxPairs, quads = rows / 4;
            new Span<float>(s->Acc, rows * hd).Clear();
            for (int r = 0; r < rows; r++)
            {
                // each row's probabilities (its exponentials times the softmax's factor, the product Softmax would
                // have stored) as bf16 in sequence order are its pairs (dwords); a zero completes an odd length
                int length = prefix + counts[r / group];
                ushort* pairs = (ushort*)(s->RowProbs + (long)r * maxPairs);
                Bf16.FromScaledFloats(p + (long)r * stride, factors[r], pairs, length);
                if (length % 2 != 0) pairs[length] = 0;
            }
            int* common = stackalloc int[Attention.MaxRows / 4 + 1];
            for (int i = 0; i < quads; i++)
            {
                // the quad's shared pairs lie wholly inside the sequence its rows share; when that is the whole sequence
                // of each of the 4 rows, the last pair of an odd length (its zero included) is shared as well. That is
                // exact: each row then has that same length L, so step (L − 1)/2 is, for every row, the block of
                // position L − 1's value with a zero partner (always gathered: no slot follows it in place) and the
                // row's own probability paired with the zero its pairs end with — what the row's lone pass would meet,
                // added to the same accumulator in the same place of its chain; the quad only shares the block's load
                int shared = Attention.CommonLength(4 * i, group, prefix, visible, pending, counts), token = 4 * i / group;
                bool whole = true;
                for (int t = token; t <= (4 * i + 3) / group; t++) whole &= prefix + counts[t] == shared;
                common[i] = whole ? (shared + 1) / 2 : shared / 2;
                Pairs(s, 0, common[i], prefix, visible + token * pending, prefix + counts[token], values, hd, s->RowProbs + (long)4 * i * maxPairs, 4L * maxPairs,
                    s->Acc + (long)4 * i * hd, 4);
            }
            for (int r = 0; r < rows; r++)
            {
                int token = r / group, length = prefix + counts[token], from = r < 4 * quads ? common[r / 4] : 0;
                Pairs(s, from, (length + 1) / 2, prefix, visible + token * pending, length, values, hd, s->RowProbs + (long)r * maxPairs + from, 0,
                    s->Acc + (long)r * hd, 1);
            }
            for (int r = 0; r < rows; r++) new Span<float>(s->Acc + (long)r * hd, hd).CopyTo(new Span<float>(o[r], hd));
        }

        /// <summary>Steps [j0, j1) of a sequence (the prefix, then the pending slots <paramref name="visible"/>; length
        /// <paramref name="length"/>) for <paramref name="m"/> rows whose probability pairs start at
        /// <paramref name="probs"/>. Pairs whose positions are their own slots (the prefix and any pending run that
        /// follows it in order) are read in place; the others are gathered in sequence order into scratch first, with a
        /// zero value past the end. Either way a step meets the same bits.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Pairs(Scratch* s, int j0, int j1, int prefix, int* visible, int length, ushort* values, int hd, uint* probs, long probRowStride,
            float* acc, int m)
        {
            if (j0 >= j1) return;
            int inPlace = prefix;
            while (inPlace < length && visible[inPlace - prefix] == inPlace) inPlace++;
            int direct = Math.Min(j1, inPlace / 2);
            if (j0 < direct) Walk(values + (long)j0 * 2 * hd, direct - j0, hd, probs, probRowStride, acc, m);
            int g0 = Math.Max(j0, direct);
            if (g0 >= j1) return;
            ushort* gathered = s->Gathered;
            for (int j = g0; j < j1; j++)
            {
                // dword d of a block holds dimension d of its two positions; a slot's value is one half of its pair's dword
                uint* block = (uint*)(gathered + (long)(j - g0) * 2 * hd);
                int k = 2 * j, first = k < prefix ? k : visible[k - prefix];
                uint* v0 = (uint*)(values + (long)(first >> 1) * 2 * hd);
                if (k + 1 >= length) GatherHalves(block, v0, 16 * (first & 1), null, 0, hd);
                else
                {
                    int second = k + 1 < prefix ? k + 1 : visible[k + 1 - prefix];
                    GatherHalves(block, v0, 16 * (first & 1), (uint*)(values + (long)(second >> 1) * 2 * hd), 16 * (second & 1), hd);
                }
            }
            Walk(gathered, j1 - g0, hd, probs + (g0 - j0), probRowStride, acc, m);
        }

        /// <summary>block[d] = the bf16 half (<paramref name="shift0"/> 0 = low, 16 = high) of a[d] in the low half and that of
        /// b[d] in the high half (zero when <paramref name="b"/> is null), for d &lt; hd.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void GatherHalves(uint* block, uint* a, int shift0, uint* b, int shift1, int hd)
        {
            int d = 0;
            var low = Vector512.Create(0xFFFFu);
            for (; d + 16 <= hd; d += 16)
            {
                var x = (Vector512.Load(a + d) >>> shift0) & low;
                if (b != null) x |= (Vector512.Load(b + d) >>> shift1) << 16;
                x.Store(block + d);
            }
            for (; d < hd; d++) block[d] = (a[d] >> shift0 & 0xFFFF) | (b != null ? b[d] >> shift1 << 16 : 0);
        }

        /// <summary>One kernel call per slice of up to 4 vectors of dimensions over <paramref name="steps"/> value
        /// blocks from <paramref name="blocks"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Walk(ushort* blocks, int steps, int hd, uint* probs, long probRowStride, float* acc, int m)
        {
            Bf16ValueKernels.Args args = default;
            args.ValueStride = 4L * hd; args.Probs = (nint)probs; args.ProbRowStride = probRowStride; args.AccStride = 4L * hd; args.Steps = steps;
            args.TailDims = hd % 16;
            int vectors = (hd + 15) / 16;
            for (int v0 = 0; v0 < vectors; v0 += Bf16ValueKernels.MaxVectors)
            {
                int nv = Math.Min(Bf16ValueKernels.MaxVectors, vectors - v0);
                args.Values = (nint)(blocks + 32L * v0);
                args.Acc = (nint)(acc + 16L * v0);
                ValueKernels.Kernel(nv, m, v0 + nv == vectors && hd % 16 != 0)(&args);
            }
        }
    }
}
