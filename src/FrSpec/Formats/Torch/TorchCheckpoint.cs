using System.Text.Json;

namespace FrSpec.Formats.Torch;

/// <summary>
/// Safe reading of PyTorch torch.save files (zip format, torch ≥ 1.6) without Python or torch.
/// Reading never executes code: only tensors, dicts, lists, tuples and scalars can come out.
/// </summary>
public static class TorchCheckpoint
{
    /// <summary>Largest data.pkl accepted (a state dict pickle is a few MB even for big models).</summary>
    private const long MaxPickleBytes = 512L << 20;

    /// <summary>
    /// Reads a state dict: every tensor of a (possibly nested under "state_dict"/"model") dict, by name.
    /// Accepts a sharded checkpoint's <c>*.index.json</c> (weight_map → shard files in the same folder).
    /// </summary>
    public static IReadOnlyDictionary<string, TorchTensor> ReadStateDict(string path)
    {
        return path.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase) ? ReadSharded(path) : ReadSingle(path);
    }

    /// <summary>One torch.save file (never an index: an index naming an index would recurse without end).</summary>
    private static IReadOnlyDictionary<string, TorchTensor> ReadSingle(string path)
    {
        var root = Load(path);
        var dict = root as PickleDict ?? throw new FrSpecException($"{path}: top-level object is {TypeName(root)}, not a state dict");
        var result = new Dictionary<string, TorchTensor>(StringComparer.Ordinal);
        foreach (var (k, v) in dict.Items)
        {
            if (k is not string name) throw new FrSpecException($"{path}: state dict has a non-string key");
            if (v is TorchTensor t) result[name] = t;
            else if (v is PickleDict && dict.Items.Count <= 4 && name is "state_dict" or "model" or "module")
                return Flatten(path, (PickleDict)v);
            else if (v is null || v is long || v is double || v is bool || v is string) continue; // stray scalars (e.g. epoch counters)
            else throw new FrSpecException($"{path}: state dict entry '{name}' is {TypeName(v)}, not a tensor");
        }
        return result;
    }

    private static IReadOnlyDictionary<string, TorchTensor> Flatten(string path, PickleDict d)
    {
        var result = new Dictionary<string, TorchTensor>(StringComparer.Ordinal);
        foreach (var (k, v) in d.Items)
        {
            if (k is string name && v is TorchTensor t) result[name] = t;
            else throw new FrSpecException($"{path}: state dict entry '{k}' is {TypeName(v)}, not a tensor");
        }
        return result;
    }

    private static IReadOnlyDictionary<string, TorchTensor> ReadSharded(string indexPath)
    {
        using (var doc = JsonInput.ReadFile(indexPath, "shard index"))
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new FrSpecException($"{indexPath}: no 'weight_map' object");
            string dir = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
            var wanted = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String) throw new FrSpecException($"{indexPath}: weight_map['{p.Name}'] is not a file name");
                string file = p.Value.GetString()!;
                if (!TensorStore.IsPlainFileName(file))
                    throw new FrSpecException($"{indexPath}: weight_map['{p.Name}'] names '{file}' outside the checkpoint folder");
                if (!wanted.TryGetValue(file, out var names)) wanted[file] = names = new List<string>();
                names.Add(p.Name);
            }
            var result = new Dictionary<string, TorchTensor>(StringComparer.Ordinal);
            foreach (var (file, names) in wanted)
            {
                string shard = Path.Combine(dir, file);
                var tensors = ReadSingle(shard);
                foreach (var name in names)
                {
                    if (!tensors.TryGetValue(name, out var t))
                        throw new FrSpecException($"{shard}: tensor '{name}' listed in {Path.GetFileName(indexPath)} is missing");
                    result[name] = t;
                }
            }
            return result;
        }
    }

    /// <summary>
    /// Reads a list of token ids: a pickled list or tuple of ints (FR-Spec freq_N.pt) or a 1-D integer
    /// tensor (SGLang token maps saved from a tensor). Order is preserved; values must fit in int32 and be ≥ 0.
    /// </summary>
    public static int[] ReadIntList(string path)
    {
        var root = Load(path);
        long[] values = root switch
        {
            List<object?> list => Ints(path, list),
            PickleTuple tuple => Ints(path, tuple.Items),
            TorchTensor { Rank: 1 } t when t.DType.IsInteger() => t.ToInt64Array(),
            TorchTensor t => throw new FrSpecException($"{path}: tensor {t} is not a 1-D integer tensor of token ids"),
            _ => throw new FrSpecException($"{path}: top-level object is {TypeName(root)}, not a list of token ids"),
        };
        var ids = new int[values.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            if (values[i] < 0 || values[i] > int.MaxValue)
                throw new FrSpecException($"{path}: item {i} is {values[i]}, not a valid token id");
            ids[i] = (int)values[i];
        }
        return ids;
    }

    private static long[] Ints(string path, IReadOnlyList<object?> items)
    {
        var r = new long[items.Count];
        for (int i = 0; i < r.Length; i++)
            r[i] = items[i] is long v ? v : throw new FrSpecException($"{path}: item {i} is {TypeName(items[i])}, not an integer");
        return r;
    }

    /// <summary>Unpickles data.pkl of a torch.save archive into plain values (see PickleValues.cs).</summary>
    internal static object? Load(string path)
    {
        using var zip = new TorchZipReader(path);
        if (zip.Contains("byteorder"))
        {
            var order = System.Text.Encoding.ASCII.GetString(zip.ReadEntry("byteorder", 16)).Trim();
            if (order != "little") throw new FrSpecException($"{path}: byteorder '{order}' is not supported (only little-endian)");
        }
        var pkl = zip.ReadEntry("data.pkl", MaxPickleBytes);
        string where = $"{path}: {zip.Prefix}/data.pkl";
        var unpickler = new SafeUnpickler(pkl, where, (key, dtype, numel) =>
        {
            if (key.Contains('/') || key.Contains('\\')) throw new FrSpecException($"{where}: bad storage key '{key}'");
            string entry = "data/" + key;
            long have = zip.EntrySize(entry);
            long need = numel <= have / dtype.ElementSize() ? numel * dtype.ElementSize() : long.MaxValue;
            if (have < need)
                throw new FrSpecException($"{path}: entry '{zip.Prefix}/{entry}' has {have} bytes but the pickle says {numel} {dtype} elements ({need} bytes): file corrupt");
            var bytes = zip.ReadEntry(entry);
            return have == need ? bytes : bytes.AsSpan(0, (int)need).ToArray();
        });
        return unpickler.Load();
    }

    private static string TypeName(object? o) => o switch
    {
        null => "None",
        long => "an int",
        double => "a float",
        bool => "a bool",
        string => "a string",
        List<object?> => "a list",
        PickleTuple => "a tuple",
        PickleDict => "a dict",
        TorchTensor t => $"a tensor {t}",
        _ => o.GetType().Name,
    };
}
