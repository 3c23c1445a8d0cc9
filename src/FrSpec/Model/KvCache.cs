using System.Runtime.CompilerServices;
namespace FrSpec.Model;

/// <summary>
/// Keys and values of every layer for one sequence, f32. Values are laid out [layer][kvHead][slot][headDim]; keys are
/// transposed in blocks of <see cref="SlotBlock"/> slots, [layer][kvHead][slot / 16][headDim][slot % 16], so attention
/// scores 16 slots per vector (one broadcast query element against 16 keys) with no sums across lanes.
/// Slots [0, Count) are committed. A forward pass appends its tokens as pending slots after them;
/// <see cref="Commit"/> keeps a chosen subset of the pending slots (an accepted tree path), in order, and drops
/// the rest; only the kept rows move, the committed context is never copied.
/// </summary>
public sealed class KvCache
{
    /// <summary>Slots per transposed key block.</summary>
    internal const int SlotBlock = 16;
    /// <summary>Key storage is padded to a multiple of this many slots, so a kernel may read whole groups of blocks.</summary>
    private const int SlotPadding = 64;

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
    private readonly int _keySlots;

    public KvCache(int layers, int kvHeads, int headDim, int capacity)
    {
        if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity));
        Layers = layers; KvHeads = kvHeads; HeadDim = headDim; Capacity = capacity;
        _keySlots = (capacity + SlotPadding - 1) / SlotPadding * SlotPadding;
        long perLayer = (long)kvHeads * _keySlots * headDim;
        if (perLayer > Array.MaxLength) throw new FrSpecException($"KV cache of {capacity} slots is too large for one layer");
        Keys = new float[layers][];
        Values = new float[layers][];
        for (int l = 0; l < layers; l++) { Keys[l] = new float[perLayer]; Values[l] = new float[(long)kvHeads * capacity * headDim]; }
    }

    /// <summary>Total slots in use (committed + pending): where the next forward pass writes.</summary>
    public int Length => Count + Pending;

    /// <summary>Offset of a slot's value vector in <see cref="Values"/>.</summary>
    internal int Offset(int head, int slot) => (head * Capacity + slot) * HeadDim;

    /// <summary>Offset of a head's first key block in <see cref="Keys"/>; slot s, element d is at + (s / 16)·16·headDim
    /// + 16·d + s % 16.</summary>
    internal int KeyBase(int head) => head * _keySlots * HeadDim;

    private int KeyOffset(int head, int slot) => KeyBase(head) + slot / SlotBlock * SlotBlock * HeadDim + slot % SlotBlock;

    /// <summary>Stores a key and a value at a slot of a layer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void Write(int layer, int head, int slot, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        var k = Keys[layer];
        int o = KeyOffset(head, slot);
        for (int d = 0; d < HeadDim; d++) k[o + d * SlotBlock] = key[d];
        value[..HeadDim].CopyTo(Values[layer].AsSpan(Offset(head, slot), HeadDim));
    }

    /// <summary>A stored key (tests).</summary>
    internal float Key(int layer, int head, int slot, int d) => Keys[layer][KeyOffset(head, slot) + d * SlotBlock];

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
                    var k = Keys[l];
                    int from = KeyOffset(h, src), to = KeyOffset(h, dst);
                    for (int d = 0; d < HeadDim; d++) k[to + d * SlotBlock] = k[from + d * SlotBlock];
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
