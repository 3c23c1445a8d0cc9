namespace FrSpec.Model;

/// <summary>
/// Keys and values of every layer for one sequence, f32, laid out [layer][kvHead][slot][headDim].
/// Slots [0, Count) are committed. A forward pass appends its tokens as pending slots after them;
/// <see cref="Commit"/> keeps a chosen subset of the pending slots (an accepted tree path), in order, and drops
/// the rest; only the kept rows move, the committed context is never copied.
/// </summary>
public sealed class KvCache
{
    public int Layers { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }
    public int Capacity { get; }
    /// <summary>Committed slots.</summary>
    public int Count { get; private set; }
    /// <summary>Slots written by forward passes since the last commit or rollback.</summary>
    public int Pending { get; private set; }

    internal readonly float[][] Keys;
    internal readonly float[][] Values;

    public KvCache(int layers, int kvHeads, int headDim, int capacity)
    {
        if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity));
        Layers = layers; KvHeads = kvHeads; HeadDim = headDim; Capacity = capacity;
        long perLayer = (long)kvHeads * capacity * headDim;
        if (perLayer > Array.MaxLength) throw new FrSpecException($"KV cache of {capacity} slots is too large for one layer");
        Keys = new float[layers][];
        Values = new float[layers][];
        for (int l = 0; l < layers; l++) { Keys[l] = new float[perLayer]; Values[l] = new float[perLayer]; }
    }

    /// <summary>Total slots in use (committed + pending): where the next forward pass writes.</summary>
    public int Length => Count + Pending;

    internal int Offset(int head, int slot) => (head * Capacity + slot) * HeadDim;

    /// <summary>Reserves n pending slots for a forward pass; returns the first slot.</summary>
    internal int Append(int n)
    {
        if (Length + n > Capacity) throw new FrSpecException($"context full: {Length} + {n} tokens exceed the KV cache capacity {Capacity}");
        int first = Length;
        Pending += n;
        return first;
    }

    /// <summary>Keeps the pending slots at the given indices (0 = first pending slot), in that order, and drops the rest.</summary>
    public void Commit(ReadOnlySpan<int> pendingIndices)
    {
        int prev = -1;
        foreach (int idx in pendingIndices)
        {
            if (idx <= prev || idx >= Pending) throw new ArgumentException($"pending index {idx} out of order or range (pending {Pending})");
            prev = idx;
        }
        // Destination Count+j <= source Count+idx, ascending, so an in-place forward copy is safe.
        for (int j = 0; j < pendingIndices.Length; j++)
        {
            int src = Count + pendingIndices[j], dst = Count + j;
            if (src == dst) continue;
            for (int l = 0; l < Layers; l++)
                for (int h = 0; h < KvHeads; h++)
                {
                    Array.Copy(Keys[l], Offset(h, src), Keys[l], Offset(h, dst), HeadDim);
                    Array.Copy(Values[l], Offset(h, src), Values[l], Offset(h, dst), HeadDim);
                }
        }
        Count += pendingIndices.Length;
        Pending = 0;
    }

    /// <summary>Keeps all pending slots.</summary>
    public void CommitAll()
    {
        Count += Pending;
        Pending = 0;
    }

    /// <summary>Drops all pending slots.</summary>
    public void Rollback() => Pending = 0;

    /// <summary>Forgets committed slots from <paramref name="length"/> on (and all pending ones).</summary>
    public void Truncate(int length)
    {
        if (length < 0 || length > Count) throw new ArgumentOutOfRangeException(nameof(length));
        Count = length;
        Pending = 0;
    }

    public void Clear() => Truncate(0);
}
