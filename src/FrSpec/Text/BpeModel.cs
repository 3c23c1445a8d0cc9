using System.Collections.Concurrent;
using System.Text;

namespace FrSpec.Text;

/// <summary>
/// The BPE model of tokenizer.json: merges by rank (lowest rank first, leftmost on ties, as HF does), optional
/// ignore_merges (a word found whole in the vocabulary is one token), byte fallback (&lt;0xNN&gt; tokens for characters
/// missing from the vocabulary) and unk/fuse_unk. Results per word are cached in a bounded thread-safe dictionary.
/// </summary>
internal sealed class BpeModel
{
    private const int MaxCachedWordLength = 256;
    private const int CacheCapacity = 1 << 18;
    private const int ScanMergeLimit = 64;   // words up to this many symbols merge by linear scans, longer ones use a heap

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabSpan;
    private readonly int[] _bmpCharId = new int[65536];
    private readonly MergeTable _merges;
    private readonly int[] _byteTokenId = new int[256];
    private readonly int _unkId;
    private readonly bool _byteFallback, _fuseUnk, _ignoreMerges;
    private ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private int _cacheCount;

    public BpeModel(Dictionary<string, int> vocab, List<(string A, string B)> merges, string? unkToken,
        bool byteFallback, bool fuseUnk, bool ignoreMerges)
    {
        _vocab = vocab;
        _vocabSpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        Array.Fill(_bmpCharId, -1);
        foreach (var (tok, id) in vocab)
            if (tok.Length == 1) _bmpCharId[tok[0]] = id;
        _merges = new MergeTable(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (a, b) = merges[rank];
            if (!vocab.TryGetValue(a, out int ia) || !vocab.TryGetValue(b, out int ib) || !vocab.TryGetValue(a + b, out int merged))
                continue;   // HF refuses such files; a merge that can never fire is harmless to skip
            _merges.TryAdd(ia, ib, rank, merged);
        }
        for (int b = 0; b < 256; b++)
            _byteTokenId[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        _unkId = unkToken is not null && vocab.TryGetValue(unkToken, out int u) ? u : -1;
        _byteFallback = byteFallback;
        _fuseUnk = fuseUnk;
        _ignoreMerges = ignoreMerges;
    }


    public int? TokenToId(ReadOnlySpan<char> token) => _vocabSpan.TryGetValue(token, out int id) ? id : null;

    /// <summary>Appends the ids of one pre-tokenized word (already in model characters, e.g. GPT-2 byte characters).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]   // hot: skip tier-0 code
    public void Encode(ReadOnlySpan<char> word, List<int> output)
    {
        if (word.IsEmpty) return;
        bool cacheable = word.Length <= MaxCachedWordLength;
        var cache = _cache;
        if (cacheable && cache.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(word, out var hit))
        {
            output.AddRange(hit);
            return;
        }
        int before = output.Count;
        if (_ignoreMerges && _vocabSpan.TryGetValue(word, out int whole)) output.Add(whole);
        else Merge(word, output);
        if (cacheable)
        {
            if (Interlocked.Increment(ref _cacheCount) > CacheCapacity)
            {
                // Crude bound: start over rather than track recency (the hot words come back at once).
                _cache = new ConcurrentDictionary<string, int[]>(StringComparer.Ordinal);
                Interlocked.Exchange(ref _cacheCount, 0);
            }
            cache.TryAdd(word.ToString(), output.GetRange(before, output.Count - before).ToArray());
        }
    }

    [ThreadStatic] private static List<int>? t_symbols;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]   // hot: skip tier-0 code
    private void Merge(ReadOnlySpan<char> word, List<int> output)
    {
        var ids = t_symbols ??= new List<int>(64);
        ids.Clear();
        bool lastUnk = false;
        for (int i = 0; i < word.Length;)
        {
            int len = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            int id = len == 1 ? _bmpCharId[word[i]] : (_vocabSpan.TryGetValue(word.Slice(i, 2), out int v) ? v : -1);
            if (id >= 0) { ids.Add(id); lastUnk = false; }
            else if (!AddFallback(word.Slice(i, len), ids, ref lastUnk)) { }
            i += len;
        }
        if (ids.Count > ScanMergeLimit) MergeWithHeap(ids);
        else MergeByScan(ids);
        output.AddRange(ids);
    }

    /// <summary>A character missing from the vocabulary: its UTF-8 bytes as &lt;0xNN&gt; tokens, else unk.</summary>
    private bool AddFallback(ReadOnlySpan<char> ch, List<int> ids, ref bool lastUnk)
    {
        if (_byteFallback)
        {
            Span<byte> bytes = stackalloc byte[4];
            int n = Encoding.UTF8.GetBytes(ch, bytes);   // a lone surrogate becomes EF BF BD, as every UTF-8 encoder does
            bool all = true;
            for (int k = 0; k < n; k++) all &= _byteTokenId[bytes[k]] >= 0;
            if (all)
            {
                for (int k = 0; k < n; k++) ids.Add(_byteTokenId[bytes[k]]);
                lastUnk = false;
                return true;
            }
        }
        if (_unkId < 0) return false;   // no unk token: the character is dropped
        if (!(_fuseUnk && lastUnk)) ids.Add(_unkId);
        lastUnk = true;
        return true;
    }

    /// <summary>
    /// Lowest rank first, leftmost on ties. The rank of each adjacent pair is kept in an array so a merge costs two
    /// table lookups (the merge table is large and lookups miss the CPU cache) plus a scan of a short array.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]   // hot: skip tier-0 code
    private void MergeByScan(List<int> list)
    {
        int n = list.Count;
        if (n < 2) return;
        Span<int> ids = stackalloc int[n];
        Span<int> ranks = stackalloc int[n];   // ranks[i]: rank of pair (ids[i], ids[i+1]); int.MaxValue if none
        Span<int> results = stackalloc int[n];
        list.CopyTo(ids);
        for (int i = 0; i + 1 < n; i++) Lookup(ids[i], ids[i + 1], out ranks[i], out results[i]);
        while (n > 1)
        {
            int best = int.MaxValue, pos = -1;
            for (int i = 0; i + 1 < n; i++)
                if (ranks[i] < best) { best = ranks[i]; pos = i; }
            if (pos < 0) break;
            ids[pos] = results[pos];
            // Remove symbol pos+1 and its pair entry.
            ids[(pos + 1)..n].Slice(1).CopyTo(ids[(pos + 1)..]);
            ranks[(pos + 1)..n].Slice(1).CopyTo(ranks[(pos + 1)..]);
            results[(pos + 1)..n].Slice(1).CopyTo(results[(pos + 1)..]);
            n--;
            if (pos > 0) Lookup(ids[pos - 1], ids[pos], out ranks[pos - 1], out results[pos - 1]);
            if (pos + 1 < n) Lookup(ids[pos], ids[pos + 1], out ranks[pos], out results[pos]);
            else ranks[pos] = int.MaxValue;
        }
        list.Clear();
        for (int i = 0; i < n; i++) list.Add(ids[i]);
    }

    private void Lookup(int a, int b, out int rank, out int result) => _merges.TryGet(a, b, out rank, out result);

    /// <summary>Same result as <see cref="MergeByScan"/> in O(n log n): a heap of candidate pairs, stale ones skipped.</summary>
    internal void MergeWithHeap(List<int> ids)
    {
        int n = ids.Count;
        if (n < 2) return;
        var id = ids.ToArray();
        var next = new int[n];
        var prev = new int[n];
        for (int i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
        var heap = new PriorityQueue<(int Pos, int Left, int Right), long>();
        void Push(int pos)
        {
            int nx = next[pos];
            if (nx >= 0 && _merges.TryGet(id[pos], id[nx], out int rank, out _))
                heap.Enqueue((pos, id[pos], id[nx]), ((long)rank << 32) | (uint)pos);
        }
        for (int i = 0; i + 1 < n; i++) Push(i);
        while (heap.TryDequeue(out var c, out _))
        {
            int pos = c.Pos, nx = next[pos];
            if (id[pos] < 0 || nx < 0 || id[pos] != c.Left || id[nx] != c.Right) continue;   // stale
            _merges.TryGet(c.Left, c.Right, out _, out id[pos]);
            id[nx] = -1;
            next[pos] = next[nx];
            if (next[nx] >= 0) prev[next[nx]] = pos;
            if (prev[pos] >= 0) Push(prev[pos]);
            Push(pos);
        }
        ids.Clear();
        for (int i = 0; i >= 0; i = next[i]) ids.Add(id[i]);
    }

    /// <summary>Reference merge for tests.</summary>
    internal void MergeByScanForTest(List<int> ids) => MergeByScan(ids);
}
