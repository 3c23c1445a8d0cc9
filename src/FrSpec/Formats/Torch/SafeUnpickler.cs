using System.Buffers.Binary;
using System.Text;

namespace FrSpec.Formats.Torch;

/// <summary>
/// A pickle reader for torch.save's data.pkl that never executes code: it interprets only the opcodes and
/// allow-listed globals that torch checkpoints and freq lists use (docs/frequency.md; docs/formats.md, "torch.save files"),
/// building plain values. Anything else fails with an error naming the opcode or global and the file.
/// </summary>
internal sealed class SafeUnpickler
{
    /// <summary>Loads the bytes of storage <c>key</c>; called once per key.</summary>
    public delegate byte[] StorageLoader(string key, TorchDType dtype, long numElements);

    private static readonly HashSet<(string, string)> AllowedGlobals = new()
    {
        ("collections", "OrderedDict"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_parameter"),
    };

    private readonly byte[] _pkl;
    private readonly string _where;
    private readonly StorageLoader? _loadStorage;
    private readonly Dictionary<string, (TorchDType dtype, byte[] bytes)> _storages = new(StringComparer.Ordinal);
    private readonly List<object?> _stack = new();
    private readonly List<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = new();
    private int _pos;

    /// <param name="pkl">The pickle bytes.</param>
    /// <param name="where">Names the file and entry in error messages.</param>
    /// <param name="loadStorage">Storage loader; null when the archive has no storages to offer.</param>
    public SafeUnpickler(byte[] pkl, string where, StorageLoader? loadStorage)
    {
        _pkl = pkl;
        _where = where;
        _loadStorage = loadStorage;
    }

    private FrSpecException Error(string message) => new($"{_where}: {message} (pickle offset {_pos})");

    public object? Load()
    {
        while (true)
        {
            if (_pos >= _pkl.Length) throw Error("pickle ends without STOP: file truncated or corrupt");
            int opPos = _pos;
            byte op = _pkl[_pos++];
            switch (op)
            {
                case 0x80: // PROTO
                    {
                        int proto = ReadByte();
                        if (proto > 5) throw Error($"unsupported pickle protocol {proto}");
                        break;
                    }
                case 0x95: // FRAME (protocol 4): an 8-byte length; frames are just a hint
                    ReadBytes(8);
                    break;
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0) throw Error($"STOP with {_stack.Count} items on the stack");
                    return _stack[0];
                case (byte)'(': // MARK
                    _marks.Add(_stack.Count);
                    break;
                case (byte)'}': Push(new PickleDict()); break; // EMPTY_DICT
                case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                case (byte)')': Push(new PickleTuple(Array.Empty<object?>())); break; // EMPTY_TUPLE
                case (byte)'t': Push(new PickleTuple(PopMark().ToArray())); break; // TUPLE
                case 0x85: Push(new PickleTuple(PopN(1))); break; // TUPLE1
                case 0x86: Push(new PickleTuple(PopN(2))); break; // TUPLE2
                case 0x87: Push(new PickleTuple(PopN(3))); break; // TUPLE3
                case (byte)'K': Push((long)ReadByte()); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break; // BININT2
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break; // BININT
                case 0x8a: // LONG1: n-byte little-endian two's complement
                    {
                        int n = ReadByte();
                        if (n > 8) throw Error($"LONG1 integer of {n} bytes does not fit in 64 bits");
                        var b = ReadBytes(n);
                        long v = 0;
                        for (int i = n - 1; i >= 0; i--) v = (v << 8) | b[i];
                        if (n > 0 && n < 8 && (b[n - 1] & 0x80) != 0) v -= 1L << (8 * n);
                        Push(v);
                        break;
                    }
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break; // BINFLOAT
                case (byte)'N': Push(null); break; // NONE
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case (byte)'X': Push(ReadString(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break; // BINUNICODE
                case 0x8c: Push(ReadString((ulong)ReadByte())); break; // SHORT_BINUNICODE
                case 0x8d: Push(ReadString(BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8)))); break; // BINUNICODE8
                case (byte)'q': _memo[ReadByte()] = Peek(); break; // BINPUT
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))] = Peek(); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                case (byte)'h': Push(GetMemo(ReadByte())); break; // BINGET
                case (byte)'j': Push(GetMemo(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break; // LONG_BINGET
                case (byte)'a': // APPEND
                    {
                        var item = Pop();
                        AsList(Peek(), "APPEND").Add(item);
                        break;
                    }
                case (byte)'e': // APPENDS
                    {
                        var items = PopMark();
                        AsList(Peek(), "APPENDS").AddRange(items);
                        break;
                    }
                case (byte)'s': // SETITEM
                    {
                        var value = Pop();
                        var key = Pop();
                        AsDict(Peek(), "SETITEM").Items.Add(new(key, value));
                        break;
                    }
                case (byte)'u': // SETITEMS
                    {
                        var items = PopMark();
                        if (items.Count % 2 != 0) throw Error("SETITEMS with an odd number of items");
                        var d = AsDict(Peek(), "SETITEMS");
                        for (int i = 0; i < items.Count; i += 2) d.Items.Add(new(items[i], items[i + 1]));
                        break;
                    }
                case (byte)'c': // GLOBAL "module\nname\n"
                    {
                        string module = ReadLine();
                        string name = ReadLine();
                        Push(CheckGlobal(module, name));
                        break;
                    }
                case 0x93: // STACK_GLOBAL
                    {
                        var name = Pop() as string;
                        var module = Pop() as string;
                        if (name is null || module is null) throw Error("STACK_GLOBAL operands are not strings");
                        Push(CheckGlobal(module, name));
                        break;
                    }
                case (byte)'R': // REDUCE
                    {
                        var args = Pop() as PickleTuple ?? throw Error("REDUCE arguments are not a tuple");
                        var callable = Pop();
                        Push(Reduce(callable, args));
                        break;
                    }
                case (byte)'b': // BUILD: only the state of dicts (OrderedDict._metadata) is accepted, and ignored
                    {
                        var state = Pop();
                        if (Peek() is not PickleDict)
                            throw Error($"BUILD on {Describe(Peek())} is not allowed (only dict state such as _metadata)");
                        _ = state;
                        break;
                    }
                case (byte)'Q': // BINPERSID
                    Push(PersistentLoad(Pop()));
                    break;
                default:
                    _pos = opPos;
                    throw Error($"pickle opcode 0x{op:x2} ({OpcodeName(op)}) is not allowed in a torch checkpoint");
            }
        }
    }

    private PickleGlobal CheckGlobal(string module, string name)
    {
        if (AllowedGlobals.Contains((module, name)) || (module == "torch" && TorchDTypes.FromStorageClassName(name) is not null))
            return new PickleGlobal(module, name);
        throw Error($"pickle global '{module}.{name}' is not allowed (only OrderedDict, torch tensor rebuilders and storage classes)");
    }

    private object? Reduce(object? callable, PickleTuple args)
    {
        if (callable is not PickleGlobal g) throw Error($"REDUCE on {Describe(callable)}");
        switch (g.Module, g.Name)
        {
            case ("collections", "OrderedDict"):
                if (args.Count != 0) throw Error("OrderedDict(...) with arguments is not supported");
                return new PickleDict();
            case ("torch._utils", "_rebuild_tensor_v2"):
                return RebuildTensor(args);
            case ("torch._utils", "_rebuild_parameter"):
                if (args.Count < 1 || args[0] is not TorchTensor t) throw Error("_rebuild_parameter without a tensor argument");
                return t;
            default:
                throw Error($"calling '{g}' is not allowed");
        }
    }

    private object PersistentLoad(object? pid)
    {
        if (pid is not PickleTuple t || t.Count != 5 || t[0] is not string kind || kind != "storage")
            throw Error($"persistent id {Describe(pid)} is not ('storage', class, key, location, numel)");
        if (t[1] is not PickleGlobal cls || cls.Module != "torch" || TorchDTypes.FromStorageClassName(cls.Name) is not TorchDType dtype)
            throw Error($"persistent id storage class {Describe(t[1])} is not a torch storage class");
        if (t[2] is not string key) throw Error("persistent id storage key is not a string");
        if (t[3] is not string location) throw Error("persistent id location is not a string");
        if (t[4] is not long numel || numel < 0) throw Error("persistent id element count is not a non-negative integer");
        return new StorageRef(dtype, key, location, numel);
    }

    private TorchTensor RebuildTensor(PickleTuple args)
    {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (args.Count < 4) throw Error($"_rebuild_tensor_v2 with {args.Count} arguments");
        if (args[0] is not StorageRef storage) throw Error($"_rebuild_tensor_v2: first argument is {Describe(args[0])}, not a storage");
        if (args[1] is not long offset || offset < 0) throw Error("_rebuild_tensor_v2: storage offset is not a non-negative integer");
        long[] size = IntTuple(args[2], "size");
        long[] stride = IntTuple(args[3], "stride");
        if (size.Length != stride.Length) throw Error($"_rebuild_tensor_v2: size has {size.Length} dims but stride has {stride.Length}");

        long numel;
        try { numel = TorchTensor.NumElements(size); }
        catch (Exception e) when (e is OverflowException or ArgumentException) { throw Error($"_rebuild_tensor_v2: bad size ({e.Message})"); }
        int es = storage.DType.ElementSize();
        // Highest element index touched must lie inside the storage.
        long maxIndex = offset;
        if (numel > 0)
        {
            for (int d = 0; d < size.Length; d++)
            {
                if (stride[d] < 0) throw Error("_rebuild_tensor_v2: negative stride");
                try { maxIndex = checked(maxIndex + (size[d] - 1) * stride[d]); }
                catch (OverflowException) { throw Error("_rebuild_tensor_v2: stride overflow"); }
            }
            if (maxIndex >= storage.NumElements)
                throw Error($"tensor view (offset {offset}, size [{string.Join(", ", size)}], stride [{string.Join(", ", stride)}]) reaches element {maxIndex} of storage '{storage.Key}' which has {storage.NumElements}");
        }
        byte[] bytes = GetStorage(storage); // checks the entry really holds the claimed elements
        if (numel * es > Array.MaxLength)
            throw Error($"tensor of {numel} {storage.DType} elements is larger than 2 GB, which this reader does not support");
        bool contiguous = true;
        long expect = 1;
        for (int d = size.Length - 1; d >= 0; d--)
        {
            if (size[d] != 1 && stride[d] != expect) { contiguous = false; break; }
            expect *= size[d];
        }
        if (contiguous)
        {
            if (offset == 0 && numel * es == bytes.Length) return new TorchTensor(storage.DType, size, bytes);
            return new TorchTensor(storage.DType, size, new ReadOnlyMemory<byte>(bytes, checked((int)(offset * es)), checked((int)(numel * es))));
        }
        // Strided view: gather element by element into a fresh contiguous buffer.
        var dst = new byte[numel * es];
        var index = new long[size.Length];
        for (long i = 0; i < numel; i++)
        {
            long src = offset;
            for (int d = 0; d < size.Length; d++) src += index[d] * stride[d];
            Buffer.BlockCopy(bytes, (int)(src * es), dst, (int)(i * es), es);
            for (int d = size.Length - 1; d >= 0; d--)
            {
                if (++index[d] < size[d]) break;
                index[d] = 0;
            }
        }
        return new TorchTensor(storage.DType, size, dst);
    }

    private byte[] GetStorage(StorageRef s)
    {
        if (_storages.TryGetValue(s.Key, out var cached))
        {
            if (cached.dtype != s.DType) throw Error($"storage '{s.Key}' is used as both {cached.dtype} and {s.DType}");
            return cached.bytes;
        }
        if (_loadStorage is null) throw Error($"tensor storage '{s.Key}' referenced but no storages are available");
        var bytes = _loadStorage(s.Key, s.DType, s.NumElements);
        _storages[s.Key] = (s.DType, bytes);
        return bytes;
    }

    private long[] IntTuple(object? o, string what)
    {
        if (o is not PickleTuple t) throw Error($"_rebuild_tensor_v2: {what} is {Describe(o)}, not a tuple");
        var r = new long[t.Count];
        for (int i = 0; i < r.Length; i++)
            r[i] = t[i] is long v ? v : throw Error($"_rebuild_tensor_v2: {what}[{i}] is not an integer");
        return r;
    }

    private static string Describe(object? o) => o switch
    {
        null => "None",
        PickleGlobal g => $"global '{g}'",
        PickleTuple => "a tuple",
        PickleDict => "a dict",
        List<object?> => "a list",
        string s => $"the string '{(s.Length > 40 ? s[..40] + "..." : s)}'",
        TorchTensor => "a tensor",
        _ => o.GetType().Name,
    };

    private List<object?> AsList(object? o, string op) => o as List<object?> ?? throw Error($"{op} on {Describe(o)}, not a list");
    private PickleDict AsDict(object? o, string op) => o as PickleDict ?? throw Error($"{op} on {Describe(o)}, not a dict");

    private void Push(object? o) => _stack.Add(o);

    private object? Peek() => _stack.Count > 0 ? _stack[^1] : throw Error("stack underflow");

    private object? Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _stack.Count <= _marks[^1])) throw Error("stack underflow");
        var o = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return o;
    }

    private object?[] PopN(int n)
    {
        var r = new object?[n];
        for (int i = n - 1; i >= 0; i--) r[i] = Pop();
        return r;
    }

    private List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Error("no MARK on the stack");
        int m = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(m, _stack.Count - m);
        _stack.RemoveRange(m, _stack.Count - m);
        return items;
    }

    private object? GetMemo(long i) => _memo.TryGetValue(i, out var o) ? o : throw Error($"memo key {i} was never stored");

    private int ReadByte()
    {
        if (_pos >= _pkl.Length) throw Error("pickle truncated");
        return _pkl[_pos++];
    }

    private ReadOnlySpan<byte> ReadBytes(int n)
    {
        if (n > _pkl.Length - _pos) throw Error("pickle truncated");
        var s = _pkl.AsSpan(_pos, n);
        _pos += n;
        return s;
    }

    private string ReadString(ulong n)
    {
        if (n > (ulong)(_pkl.Length - _pos)) throw Error($"string of {n} bytes runs past the end of the pickle");
        try
        {
            return new UTF8Encoding(false, true).GetString(ReadBytes((int)n));
        }
        catch (DecoderFallbackException) { throw Error("string is not valid UTF-8"); }
    }

    private string ReadLine()
    {
        int end = Array.IndexOf(_pkl, (byte)'\n', _pos);
        if (end < 0 || end - _pos > 256) throw Error("GLOBAL name not terminated");
        string s = Encoding.ASCII.GetString(_pkl, _pos, end - _pos);
        _pos = end + 1;
        return s;
    }

    private static string OpcodeName(byte op) => op switch
    {
        (byte)'I' => "INT",
        (byte)'L' => "LONG",
        (byte)'F' => "FLOAT",
        (byte)'S' => "STRING",
        (byte)'T' => "BINSTRING",
        (byte)'U' => "SHORT_BINSTRING",
        (byte)'V' => "UNICODE",
        (byte)'B' => "BINBYTES",
        (byte)'C' => "SHORT_BINBYTES",
        0x8e => "BINBYTES8",
        0x96 => "BYTEARRAY8",
        (byte)'i' => "INST",
        (byte)'o' => "OBJ",
        0x81 => "NEWOBJ",
        0x92 => "NEWOBJ_EX",
        (byte)'P' => "PERSID",
        (byte)'g' => "GET",
        (byte)'p' => "PUT",
        (byte)'d' => "DICT",
        (byte)'l' => "LIST",
        (byte)'0' => "POP",
        (byte)'1' => "POP_MARK",
        (byte)'2' => "DUP",
        0x8b => "LONG4",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "unknown",
    };
}
