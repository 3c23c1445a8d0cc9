using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace FrSpec.Formats.Torch;

/// <summary>
/// Emits protocol-2 pickles with the exact opcode choices of CPython's C pickler (used by torch.save):
/// ints as BININT1/BININT2/BININT, strings as BINUNICODE, BINPUT after every memoised object,
/// lists in MARK…APPENDS batches of 1000 (a one-item list uses APPEND), dict items from an
/// iterator (OrderedDict) in batches where a lone trailing item uses SETITEM.
/// </summary>
internal sealed class TorchPickleWriter
{
    private const int BatchSize = 1000;
    private readonly MemoryStream _buf = new();
    private readonly Dictionary<string, int> _memoByKey = new(StringComparer.Ordinal);
    private readonly Dictionary<object, int> _memoByRef = new(ReferenceEqualityComparer.Instance);
    private int _memoCount;

    public byte[] ToArray() => _buf.ToArray();

    /// <summary>torch.save(list_of_ints): PROTO 2, EMPTY_LIST, BINPUT 0, batches, STOP.</summary>
    public static byte[] IntList(IReadOnlyList<int> values)
    {
        var w = new TorchPickleWriter();
        w.Op(0x80); w.Op(2);
        w.Op((byte)']');
        w.Memoize();
        if (values.Count == 1)
        {
            w.Int(values[0]);
            w.Op((byte)'a');
        }
        else
        {
            for (int start = 0; start < values.Count; start += BatchSize)
            {
                w.Op((byte)'(');
                int end = Math.Min(values.Count, start + BatchSize);
                for (int i = start; i < end; i++) w.Int(values[i]);
                w.Op((byte)'e');
            }
        }
        w.Op((byte)'.');
        return w.ToArray();
    }

    /// <summary>
    /// torch.save(OrderedDict(name → tensor)) for contiguous tensors. Returns the pickle and the storages in
    /// key order ("0", "1", ...). The same <see cref="TorchTensor"/> instance twice is pickled once and
    /// referenced again (as torch does for tied weights).
    /// </summary>
    public static (byte[] pickle, List<(string key, TorchTensor tensor)> storages) StateDict(IReadOnlyList<(string name, TorchTensor tensor)> items)
    {
        var w = new TorchPickleWriter();
        var storages = new List<(string, TorchTensor)>();
        w.Op(0x80); w.Op(2);
        w.Global("collections", "OrderedDict");
        w.Op((byte)')');
        w.Op((byte)'R');
        w.Memoize();
        int i = 0;
        while (i < items.Count)
        {
            int remaining = items.Count - i;
            if (remaining == 1)
            {
                w.StateItem(items[i++], storages);
                w.Op((byte)'s');
                break;
            }
            w.Op((byte)'(');
            int end = Math.Min(items.Count, i + BatchSize);
            for (; i < end; i++) w.StateItem(items[i], storages);
            w.Op((byte)'u');
        }
        w.Op((byte)'.');
        return (w.ToArray(), storages);
    }

    private void StateItem((string name, TorchTensor tensor) item, List<(string, TorchTensor)> storages)
    {
        String(item.name, memoKey: null);
        if (_memoByRef.TryGetValue(item.tensor, out int m))
        {
            Get(m);
            return;
        }
        var t = item.tensor;
        Global("torch._utils", "_rebuild_tensor_v2");
        Op((byte)'(');
        // persistent id ('storage', torch.XxxStorage, key, 'cpu', numel) then BINPERSID
        string key = storages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        storages.Add((key, t));
        Op((byte)'(');
        String("storage", memoKey: "str:storage");
        Global("torch", t.DType.StorageClassName());
        String(key, memoKey: null);
        String("cpu", memoKey: "str:cpu");
        Long(t.ElementCount);
        Op((byte)'t');
        Memoize();
        Op((byte)'Q');
        Long(0); // storage offset
        var shape = t.Shape;
        var stride = new long[shape.Length];
        long s = 1;
        for (int d = shape.Length - 1; d >= 0; d--) { stride[d] = s; s *= shape[d]; }
        LongTuple(shape);
        LongTuple(stride);
        Op(0x89); // requires_grad = False
        Global("collections", "OrderedDict"); // backward hooks: OrderedDict()
        Op((byte)')');
        Op((byte)'R');
        Memoize();
        Op((byte)'t');
        Memoize();
        Op((byte)'R');
        _memoByRef[t] = _memoCount;
        Memoize();
    }

    private void LongTuple(long[] values)
    {
        if (values.Length == 0) { Op((byte)')'); return; }
        if (values.Length > 3) Op((byte)'(');
        foreach (var v in values) Long(v);
        Op(values.Length switch { 1 => 0x85, 2 => 0x86, 3 => 0x87, _ => (byte)'t' });
        Memoize();
    }

    private void Global(string module, string name)
    {
        string key = "global:" + module + "\n" + name;
        if (_memoByKey.TryGetValue(key, out int m)) { Get(m); return; }
        Op((byte)'c');
        Bytes(Encoding.ASCII.GetBytes(module + "\n" + name + "\n"));
        _memoByKey[key] = _memoCount;
        Memoize();
    }

    /// <summary>A str; <paramref name="memoKey"/> non-null means "the same Python object every time" (a literal).</summary>
    private void String(string s, string? memoKey)
    {
        if (memoKey != null && _memoByKey.TryGetValue(memoKey, out int m)) { Get(m); return; }
        var b = Encoding.UTF8.GetBytes(s);
        Op((byte)'X');
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(n, (uint)b.Length);
        Bytes(n);
        Bytes(b);
        if (memoKey != null) _memoByKey[memoKey] = _memoCount;
        Memoize();
    }

    private void Int(int v) => Long(v);

    private void Long(long v)
    {
        Span<byte> b = stackalloc byte[9];
        if (v >= 0 && v <= 0xFF) { Op((byte)'K'); Op((byte)v); }
        else if (v >= 0 && v <= 0xFFFF) { Op((byte)'M'); BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v); Bytes(b[..2]); }
        else if (v >= int.MinValue && v <= int.MaxValue) { Op((byte)'J'); BinaryPrimitives.WriteInt32LittleEndian(b, (int)v); Bytes(b[..4]); }
        else
        {
            // LONG1: minimal little-endian two's complement.
            BinaryPrimitives.WriteInt64LittleEndian(b, v);
            int n = 8;
            while (n > 1 && ((b[n - 1] == 0 && (b[n - 2] & 0x80) == 0) || (b[n - 1] == 0xFF && (b[n - 2] & 0x80) != 0))) n--;
            Op(0x8a); Op((byte)n); Bytes(b[..n]);
        }
    }

    private void Memoize()
    {
        if (_memoCount < 256) { Op((byte)'q'); Op((byte)_memoCount); }
        else
        {
            Op((byte)'r');
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)_memoCount);
            Bytes(b);
        }
        _memoCount++;
    }

    private void Get(int index)
    {
        if (index < 256) { Op((byte)'h'); Op((byte)index); }
        else
        {
            Op((byte)'j');
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)index);
            Bytes(b);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Op(byte b) => _buf.WriteByte(b);

    private void Bytes(ReadOnlySpan<byte> b) => _buf.Write(b);
}
