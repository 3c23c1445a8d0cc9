using System.Text.Json;
using FrSpec.Numerics;

namespace FrSpec.Formats;

/// <summary>
/// The tensors of a model directory: model.safetensors, or shards listed by model.safetensors.index.json,
/// memory-mapped. Lookups validate shape and dtype and name the file and tensor on failure.
/// </summary>
public sealed class TensorStore : IWeightStore
{
    private readonly Dictionary<string, SafetensorsFile> _byTensor = new();
    private readonly List<SafetensorsFile> _files = new();
    private NativeBuffer? _arena;
    private long _arenaUsed;
    public string Directory { get; }

    /// <summary>True when matrices are copied into 2 MiB huge-page memory instead of used from the file mapping.</summary>
    public bool UsesHugePages => _arena != null;

    private TensorStore(string directory) { Directory = directory; }

    public IEnumerable<string> Names => _byTensor.Keys;

    public static TensorStore Open(string dir, string baseName = "model")
    {
        var store = new TensorStore(dir);
        try
        {
            string single = Path.Combine(dir, baseName + ".safetensors");
            string index = Path.Combine(dir, baseName + ".safetensors.index.json");
            if (File.Exists(single)) store.Add(SafetensorsFile.Open(single));
            else if (File.Exists(index)) store.AddIndex(index);
            else throw new FrSpecException($"{dir}: no {baseName}.safetensors or {baseName}.safetensors.index.json found");
            return store;
        }
        catch { store.Dispose(); throw; }
    }

    /// <summary>Opens explicit safetensors files (e.g. an EAGLE head's model.safetensors).</summary>
    public static TensorStore OpenFiles(string dir, params string[] files)
    {
        var store = new TensorStore(dir);
        try { foreach (var f in files) store.Add(SafetensorsFile.Open(f)); return store; }
        catch { store.Dispose(); throw; }
    }

    private void AddIndex(string index)
    {
        using (var doc = JsonInput.ReadFile(index, "shard index"))
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new FrSpecException($"{index}: field 'weight_map' is missing or not an object");
            var shards = new Dictionary<string, SafetensorsFile>();
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String) throw new FrSpecException($"{index}: weight_map['{p.Name}'] is not a file name");
                string shard = p.Value.GetString()!;
                if (!IsPlainFileName(shard))
                    throw new FrSpecException($"{index}: weight_map['{p.Name}'] = '{shard}' is not a plain file name");
                if (!shards.TryGetValue(shard, out var f))
                {
                    string path = Path.Combine(Directory, shard);
                    if (!File.Exists(path)) throw new FrSpecException($"{index}: shard '{shard}' (for tensor '{p.Name}') not found");
                    f = SafetensorsFile.Open(path);
                    shards[shard] = f;
                    _files.Add(f);
                }
                if (!f.Contains(p.Name)) throw new FrSpecException($"{f.Path}: tensor '{p.Name}' listed in {Path.GetFileName(index)} is missing from the shard");
                _byTensor[p.Name] = f;
            }
        }
    }

    /// <summary>A file name inside the model folder: no folder part, not "." or "..", no control characters.</summary>
    internal static bool IsPlainFileName(string name) =>
        name.Length > 0 && name is not "." and not ".." && name.IndexOfAny(['/', '\\', '\0']) < 0 && !name.Any(char.IsControl);

    private void Add(SafetensorsFile f)
    {
        _files.Add(f);
        foreach (var name in f.Entries.Keys) _byTensor[name] = f;
    }

    public bool Contains(string name) => _byTensor.ContainsKey(name);

    /// <summary>
    /// From now on, <see cref="Matrix"/> copies weights into one anonymous arena advised into transparent huge pages.
    /// Decode streams every weight once per token, and huge pages remove most TLB misses from that stream. Skipped
    /// (returns false) off Linux or when the weights exceed half of the machine's memory.
    /// </summary>
    public bool UseHugePages()
    {
        if (_arena != null) return true;
        if (!OperatingSystem.IsLinux()) return false;
        long total = _byTensor.Keys.Sum(n => Find(n).entry.End - Find(n).entry.Begin + 64);
        if (total > GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2) return false;
        _arena = new NativeBuffer(total, hugePages: true);
        return true;
    }

    public (SafetensorsFile file, SafetensorsEntry entry) Find(string name)
    {
        if (!_byTensor.TryGetValue(name, out var f))
            throw new FrSpecException($"{Directory}: tensor '{name}' is missing");
        return (f, f.Entries[name]);
    }

    /// <summary>A [rows, cols] matrix used in place from the mapping.</summary>
    public WeightMatrix Matrix(string name, int rows, int cols)
    {
        var (f, e) = Find(name);
        CheckShape(f, e, rows, cols);
        var type = SafetensorsFile.ToDType(f.Path, e);
        if (_arena == null) return new WeightMatrix(type, rows, cols, f.DataPointer(e));
        long bytes = e.End - e.Begin;
        nint dst = _arena.Pointer + (nint)_arenaUsed;
        unsafe { Buffer.MemoryCopy((void*)f.DataPointer(e), (void*)dst, bytes, bytes); }
        _arenaUsed += (bytes + 63) / 64 * 64;
        return new WeightMatrix(type, rows, cols, dst);
    }

    /// <summary>A 1-D tensor converted to f32 (norm weights, biases).</summary>
    public unsafe float[] Vector(string name, int length)
    {
        var (f, e) = Find(name);
        CheckShape(f, e, length);
        var t = SafetensorsFile.ToDType(f.Path, e);
        var v = new float[length];
        Numerics.Convert.ToFloat(t, (byte*)f.DataPointer(e), v);
        return v;
    }

    public float[]? OptionalVector(string name, int length) => Contains(name) ? Vector(name, length) : null;

    private static void CheckShape(SafetensorsFile f, SafetensorsEntry e, params int[] expected)
    {
        if (e.Shape.Length != expected.Length || !e.Shape.Zip(expected).All(p => p.First == p.Second))
            throw new FrSpecException($"{f.Path}: tensor '{e.Name}' has shape [{string.Join(", ", e.Shape)}], expected [{string.Join(", ", expected)}]");
    }

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
        _files.Clear();
        _arena?.Dispose();
        _arena = null;
    }
}
