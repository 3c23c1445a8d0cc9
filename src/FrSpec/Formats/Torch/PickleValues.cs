namespace FrSpec.Formats.Torch;

// Values produced by SafeUnpickler. Python int → long, float → double, str → string, bool → bool,
// None → null, list → List<object?>, tuple → PickleTuple, dict/OrderedDict → PickleDict,
// tensors → TorchTensor. Nothing else can come out of a pickle.

/// <summary>An immutable Python tuple.</summary>
internal sealed class PickleTuple(object?[] items)
{
    public object?[] Items { get; } = items;
    public int Count => Items.Length;
    public object? this[int i] => Items[i];
}

/// <summary>A Python dict or OrderedDict: insertion-ordered key/value pairs.</summary>
internal sealed class PickleDict
{
    public List<KeyValuePair<object?, object?>> Items { get; } = new();
}

/// <summary>An allow-listed global (module, name) pushed by GLOBAL/STACK_GLOBAL.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>A storage reference from BINPERSID: ('storage', class, key, location, numel).</summary>
internal sealed record StorageRef(TorchDType DType, string Key, string Location, long NumElements);
