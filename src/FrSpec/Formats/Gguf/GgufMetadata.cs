namespace FrSpec.Formats.Gguf;

/// <summary>
/// The typed key/value metadata of a GGUF file. Scalars are kept as their CLR type (byte, sbyte, ushort, short, uint,
/// int, float, bool, string, ulong, long, double) and arrays as typed CLR arrays. The accessors return null for a
/// missing key and throw a <see cref="FrSpecException"/> naming the file and key when a value has an unusable type or
/// range, so callers never handle raw objects.
/// </summary>
public sealed class GgufMetadata
{
    private readonly string _path;
    private readonly Dictionary<string, (GgufValueType Type, object Value)> _values;

    internal GgufMetadata(string path, Dictionary<string, (GgufValueType, object)> values)
    {
        _path = path; _values = values;
    }

    /// <summary>All keys, in no particular order.</summary>
    public IReadOnlyCollection<string> Keys => _values.Keys;
    public int Count => _values.Count;
    public bool Contains(string key) => _values.ContainsKey(key);

    /// <summary>The stored type of a value (Array for arrays), or null when the key is absent.</summary>
    public GgufValueType? TypeOf(string key) => _values.TryGetValue(key, out var v) ? v.Type : null;

    /// <summary>The raw value: a boxed scalar or a typed array.</summary>
    public object? Raw(string key) => _values.TryGetValue(key, out var v) ? v.Value : null;

    /// <summary>A string value, or null when absent.</summary>
    public string? String(string key) => Get(key) switch
    {
        null => null,
        string s => s,
        var o => throw Mismatch(key, o, "a string"),
    };

    /// <summary>A bool value, or null when absent.</summary>
    public bool? Bool(string key) => Get(key) switch
    {
        null => null,
        bool b => b,
        var o => throw Mismatch(key, o, "a bool"),
    };

    /// <summary>Any integer type, as a long (a uint64 above long.MaxValue is an error).</summary>
    public long? Integer(string key)
    {
        var o = Get(key);
        if (o == null) return null;
        return TryInteger(o, out long v) ? v : throw Mismatch(key, o, "an integer");
    }

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>], or null when absent.</summary>
    public int? Int32(string key, int min = int.MinValue, int max = int.MaxValue)
    {
        long? v = Integer(key);
        if (v == null) return null;
        if (v < min || v > max) throw new FrSpecException($"{_path}: metadata '{key}' = {v} is outside [{min}, {max}]");
        return (int)v;
    }

    /// <summary>A float32/float64 (or integer) value as a double.</summary>
    public double? Number(string key)
    {
        var o = Get(key);
        return o switch
        {
            null => null,
            float f => f,
            double d => d,
            _ => TryInteger(o, out long v) ? v : throw Mismatch(key, o, "a number"),
        };
    }

    /// <summary>An array of strings, or null when absent.</summary>
    public string[]? Strings(string key) => Get(key) switch
    {
        null => null,
        string[] a => a,
        var o => throw Mismatch(key, o, "an array of strings"),
    };

    /// <summary>An array of any integer type, each element checked to fit an int.</summary>
    public int[]? Int32s(string key)
    {
        var o = Get(key);
        if (o == null) return null;
        if (o is int[] ints) return ints;
        if (o is not Array a || o is string[] or float[] or double[] or bool[]) throw Mismatch(key, o, "an array of integers");
        var result = new int[a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            if (!TryInteger(a.GetValue(i)!, out long v) || v < int.MinValue || v > int.MaxValue)
                throw new FrSpecException($"{_path}: metadata '{key}'[{i}] = {a.GetValue(i)} does not fit a 32-bit integer");
            result[i] = (int)v;
        }
        return result;
    }

    /// <summary>An array of float32, or null when absent.</summary>
    public float[]? Float32s(string key) => Get(key) switch
    {
        null => null,
        float[] a => a,
        var o => throw Mismatch(key, o, "an array of float32"),
    };

    private object? Get(string key) => _values.TryGetValue(key, out var v) ? v.Value : null;

    private static bool TryInteger(object o, out long v)
    {
        switch (o)
        {
            case byte x: v = x; return true;
            case sbyte x: v = x; return true;
            case ushort x: v = x; return true;
            case short x: v = x; return true;
            case uint x: v = x; return true;
            case int x: v = x; return true;
            case long x: v = x; return true;
            case ulong x when x <= long.MaxValue: v = (long)x; return true;
            default: v = 0; return false;
        }
    }

    private FrSpecException Mismatch(string key, object value, string expected)
    {
        var t = _values[key];
        string actual = t.Type == GgufValueType.Array ? $"an array of {value.GetType().GetElementType()?.Name}" : t.Type.ToString();
        string shown = value is ulong u ? $" ({u})" : "";
        return new FrSpecException($"{_path}: metadata '{key}' is {actual}{shown}, expected {expected}");
    }
}
