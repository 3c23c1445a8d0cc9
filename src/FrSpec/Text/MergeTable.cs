namespace FrSpec.Text;

/// <summary>
/// BPE merge lookup (left id, right id) → (rank, merged id) as one flat open-addressing table: a probe touches a single
/// 16-byte slot, where Dictionary needs a bucket and an entry (two cache misses on a table of this size).
/// </summary>
internal sealed class MergeTable
{
    private struct Slot
    {
        public long Key;
        public int Rank;   // -1: empty
        public int Id;
    }

    private readonly Slot[] _slots;
    private readonly int _mask;

    public MergeTable(int count)
    {
        int capacity = 16;
        while (capacity < count * 2) capacity <<= 1;
        _slots = new Slot[capacity];
        for (int i = 0; i < capacity; i++) _slots[i].Rank = -1;
        _mask = capacity - 1;
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    private int Start(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 40) & _mask;

    /// <summary>Adds a merge unless the pair is already present (the first, lowest rank wins, as in HF).</summary>
    public void TryAdd(int a, int b, int rank, int id)
    {
        long key = Key(a, b);
        for (int i = Start(key); ; i = (i + 1) & _mask)
        {
            ref var s = ref _slots[i];
            if (s.Rank < 0) { s.Key = key; s.Rank = rank; s.Id = id; return; }
            if (s.Key == key) return;
        }
    }

    public bool TryGet(int a, int b, out int rank, out int id)
    {
        long key = Key(a, b);
        for (int i = Start(key); ; i = (i + 1) & _mask)
        {
            ref var s = ref _slots[i];
            if (s.Rank < 0) { rank = int.MaxValue; id = 0; return false; }
            if (s.Key == key) { rank = s.Rank; id = s.Id; return true; }
        }
    }
}
