using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FrSpec.Numerics;

namespace FrSpec.Model;

/// <summary>
/// Keys and values of every layer for one sequence, f32 or bf16.
///
/// f32 (exact precision, or no vdpbf16ps kernels): values are laid out [layer][kvHead][slot][headDim]; keys are
/// transposed in blocks of <see cref="SlotBlock"/> slots, [layer][kvHead][slot / 16][headDim][slot % 16], so attention
/// scores 16 slots per vector (one broadcast query element against 16 keys) with no sums across lanes.
///
/// bf16 (<see cref="For"/>: the fast precision on generated vdpbf16ps kernels, for models whose weights are not f32;
/// half the bytes): keys are
/// [layer][kvHead][slot / 16][headDim / 2][slot % 16][2] — one 64-byte vector holds one dimension pair of 16 slots,
/// the panel layout of <see cref="Numerics.CodeGen.Bf16PanelKernels"/>, so a tile's scores are a panel product
/// against the query rows' dimension pairs; values are interleaved by slot pair, [layer][kvHead][slot / 2][headDim][2]
/// — one vector holds 16 dimensions of two consecutive slots, the operand of a vdpbf16ps whose other operand is a
/// broadcast pair of probabilities, and a widening (a shift or a mask) gives either slot alone.
///
/// Slots [0, Count) are committed. A forward pass appends its tokens as pending slots after them;
/// <see cref="Commit"/> keeps a chosen subset of the pending slots (an accepted tree path), in order, and drops
/// the rest; only the kept rows move, the committed context is never copied.
/// </summary>
public sealed class KvCache
{
    /// <summary>Slots per transposed key block.</summary>
    internal const int SlotBlock = 16;
    /// <summary>Storage is padded to a multiple of this many slots, so a kernel may read whole groups of blocks.</summary>
    private const int SlotPadding = 64;

    public int Layers { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }
    public int Capacity { get; }
    /// <summary>Committed slots.</summary>
    public int Count { get; private set; }
    /// <summary>Slots written by forward passes since the last commit or rollback.</summary>
    public int Pending { get; private set; }
    /// <summary>Bytes one slot of one layer and KV head holds (key and value): 8·headDim in f32, 4·headDim in bf16.</summary>
    public int BytesPerSlot => (IsBf16 ? 4 : 8) * HeadDim;

    /// <summary>Whether keys and values are stored as bf16 (<see cref="Keys16"/>, <see cref="Values16"/>) instead of f32.</summary>
    internal bool IsBf16 { get; }
    internal readonly float[][] Keys;
    internal readonly float[][] Values;
    internal readonly ushort[][] Keys16;
    internal readonly ushort[][] Values16;
    private readonly int _keySlots;

    /// <summary>An f32 cache.</summary>
    public KvCache(int layers, int kvHeads, int headDim, int capacity) : this(layers, kvHeads, headDim, capacity, bf16: false) { }

    private KvCache(int layers, int kvHeads, int headDim, int capacity, bool bf16)
    {
        if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity));
        if (bf16 && headDim % 2 != 0) throw new FrSpecException($"a bf16 KV cache needs an even head size, not {headDim}");
        Layers = layers; KvHeads = kvHeads; HeadDim = headDim; Capacity = capacity; IsBf16 = bf16;
        _keySlots = (capacity + SlotPadding - 1) / SlotPadding * SlotPadding;
        long perLayer = (long)kvHeads * _keySlots * headDim;
        if (perLayer > Array.MaxLength) throw new FrSpecException($"KV cache of {capacity} slots is too large for one layer");
        Keys = bf16 ? [] : new float[layers][];
        Values = bf16 ? [] : new float[layers][];
        Keys16 = bf16 ? new ushort[layers][] : [];
        Values16 = bf16 ? new ushort[layers][] : [];
        for (int l = 0; l < layers; l++)
            if (bf16) { Keys16[l] = new ushort[perLayer]; Values16[l] = new ushort[perLayer]; }
            else { Keys[l] = new float[perLayer]; Values[l] = new float[(long)kvHeads * capacity * headDim]; }
    }

    /// <summary>The cache for a model (or draft head) whose key projection has weights of type <paramref name="weights"/>:
    /// bf16 where the fast precision already rounds the model's activations (its weights are not f32) and runs on
    /// generated vdpbf16ps kernels, and the head size is even; f32 everywhere else, so that the exact precision, f32
    /// models and machines without AVX512_BF16 keep the f32 numerics.</summary>
    internal static KvCache For(Compute compute, DType weights, int layers, int kvHeads, int headDim, int capacity) =>
        new(layers, kvHeads, headDim, capacity, UsesBf16(compute, weights, headDim));

    /// <summary>Whether <see cref="For"/> picks bf16 storage.</summary>
    internal static bool UsesBf16(Compute compute, DType weights, int headDim) =>
        compute.Precision == Precision.Fast && weights != DType.F32 && compute.Generated?.Bf16Panels != null && headDim % 2 == 0;

    /// <summary>Total slots in use (committed + pending): where the next forward pass writes.</summary>
    public int Length => Count + Pending;

    /// <summary>Offset of a slot's value vector in <see cref="Values"/> (f32).</summary>
    internal int Offset(int head, int slot) => (head * Capacity + slot) * HeadDim;

    /// <summary>Offset of a head's first key block in <see cref="Keys"/> or <see cref="Keys16"/>, and of its first value
    /// slot pair in <see cref="Values16"/>. f32 keys: slot s, element d is at + (s / 16)·16·headDim + 16·d + s % 16.</summary>
    internal int KeyBase(int head) => head * _keySlots * HeadDim;

    private int KeyOffset(int head, int slot) => KeyBase(head) + slot / SlotBlock * SlotBlock * HeadDim + slot % SlotBlock;

    /// <summary>bf16 key of slot s, dimension d: + (s / 16)·16·headDim + (d / 2)·32 + (s % 16)·2 + d % 2.</summary>
    private int Key16Offset(int head, int slot, int d) =>
        KeyBase(head) + slot / SlotBlock * SlotBlock * HeadDim + d / 2 * 2 * SlotBlock + slot % SlotBlock * 2 + d % 2;

    /// <summary>bf16 value of slot s, dimension d: + (s / 2)·2·headDim + 2·d + s % 2.</summary>
    internal int Value16Offset(int head, int slot, int d) => KeyBase(head) + slot / 2 * 2 * HeadDim + 2 * d + slot % 2;

    /// <summary>Stores a key and a value at a slot of a layer (rounded to nearest even in a bf16 cache).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void Write(int layer, int head, int slot, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        if (IsBf16)
        {
            WriteBf16(layer, head, slot, key, value);
            return;
        }
        var k = Keys[layer];
        int o = KeyOffset(head, slot);
        for (int d = 0; d < HeadDim; d++) k[o + d * SlotBlock] = key[d];
        value[..HeadDim].CopyTo(Values[layer].AsSpan(Offset(head, slot), HeadDim));
    }

    /// <summary>The bf16 store: both vectors rounded on vectors (<see cref="Bf16.FromFloats"/>, the bits of
    /// Bf16.FromFloat); a key's dimension pairs are dwords 16 apart, a value's dimensions the slot's half of its pair's
    /// dwords, merged on vectors with the other slot's half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void WriteBf16(int layer, int head, int slot, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        int hd = HeadDim;
        if (key.Length < hd || value.Length < hd) throw new ArgumentException("key or value shorter than the head size");
        ushort* rounded = stackalloc ushort[hd];
        var roundedSpan = new Span<ushort>(rounded, hd);
        fixed (ushort* k16 = Keys16[layer], v16 = Values16[layer])
        {
            Bf16.FromFloats(key[..hd], roundedSpan);
            uint* pairs = (uint*)rounded, kd = (uint*)(k16 + Key16Offset(head, slot, 0));
            for (int p = 0; p < hd / 2; p++) kd[p * SlotBlock] = pairs[p];
            Bf16.FromFloats(value[..hd], roundedSpan);
            uint* vd = (uint*)(v16 + Value16Offset(head, slot & ~1, 0));
            int shift = 16 * (slot & 1);
            uint keep = shift == 0 ? 0xFFFF0000u : 0x0000FFFFu;
            // each dword is read and written back whole, the other slot's half included: safe only because a layer's
            // stores run one at a time on one thread (a concurrent store to the pair's other slot could be lost)
            int d = 0;
            for (; d + 16 <= hd; d += 16)
            {
                var other = Vector512.Load(vd + d) & Vector512.Create(keep);
                var mine = Vector512.WidenLower(Vector256.Load(rounded + d).ToVector512Unsafe()).AsUInt32() << shift;
                (other | mine).Store(vd + d);
            }
            for (; d < hd; d++) vd[d] = (vd[d] & keep) | (uint)rounded[d] << shift;
        }
    }

    /// <summary>A stored key, as a float (tests).</summary>
    internal float Key(int layer, int head, int slot, int d) =>
        IsBf16 ? Bf16.ToFloat(Keys16[layer][Key16Offset(head, slot, d)]) : Keys[layer][KeyOffset(head, slot) + d * SlotBlock];

    /// <summary>A stored value, as a float (tests).</summary>
    internal float Value(int layer, int head, int slot, int d) =>
        IsBf16 ? Bf16.ToFloat(Values16[layer][Value16Offset(head, slot, d)]) : Values[layer][Offset(head, slot) + d];

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
                for (int h = 0; h < KvHeads; h++) Move(l, h, src, dst);
        }
        Count += pendingIndices.Length;
        Pending = 0;
    }

    /// <summary>Copies slot <paramref name="src"/>'s key and value to slot <paramref name="dst"/>.</summary>
    private void Move(int layer, int head, int src, int dst)
    {
        if (IsBf16)
        {
            var k16 = Keys16[layer];
            var v16 = Values16[layer];
            int kFrom = Key16Offset(head, src, 0), kTo = Key16Offset(head, dst, 0);
            int vFrom = Value16Offset(head, src, 0), vTo = Value16Offset(head, dst, 0);
            for (int d = 0; d < HeadDim; d += 2)
            {
                k16[kTo + d * SlotBlock] = k16[kFrom + d * SlotBlock];
                k16[kTo + d * SlotBlock + 1] = k16[kFrom + d * SlotBlock + 1];
            }
            for (int d = 0; d < HeadDim; d++) v16[vTo + 2 * d] = v16[vFrom + 2 * d];
            return;
        }
        var k = Keys[layer];
        int from = KeyOffset(head, src), to = KeyOffset(head, dst);
        for (int d = 0; d < HeadDim; d++) k[to + d * SlotBlock] = k[from + d * SlotBlock];
        Array.Copy(Values[layer], Offset(head, src), Values[layer], Offset(head, dst), HeadDim);
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
