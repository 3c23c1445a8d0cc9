using FrSpec.Formats;
using FrSpec.Numerics;

namespace FrSpec.Speculative;

/// <summary>
/// The tensors of an EAGLE head directory, by canonical name (without a leading "model."), whatever the container:
/// model.safetensors (memory-mapped) or pytorch_model.bin (torch zip pickle, read by the safe reader).
/// Lookups validate shapes and name the file and tensor on failure.
/// </summary>
internal abstract class EagleTensors : Formats.ITensorSource, IDisposable
{
    /// <summary>The file the tensors come from (for error messages).</summary>
    public abstract string Source { get; }
    public abstract IEnumerable<string> Names { get; }
    public abstract bool Contains(string name);
    /// <summary>A [rows, cols] matrix (viewed in place when the container allows it).</summary>
    public abstract WeightMatrix Matrix(string name, int rows, int cols);
    /// <summary>Whether <see cref="Matrix"/> returns writable copies (a loader may repack them in place).</summary>
    public abstract bool CopiesMatrices { get; }
    /// <summary>A 1-D tensor converted to f32.</summary>
    public abstract float[] Vector(string name, int length);
    /// <summary>A 1-D integer or boolean tensor (EAGLE-3's d2t/t2d maps) as longs.</summary>
    public abstract long[] Integers(string name, int length);
    public abstract void Dispose();

    /// <summary>
    /// Opens the head's weights the way the EAGLE loader does: pytorch_model.bin first, else model.safetensors.
    /// </summary>
    public static EagleTensors Open(string dir)
    {
        string bin = Path.Combine(dir, "pytorch_model.bin");
        string st = Path.Combine(dir, "model.safetensors");
        if (File.Exists(bin)) return TorchBinEagleTensors.Open(bin);
        if (File.Exists(st)) return new SafetensorsEagleTensors(TensorStore.OpenFiles(dir, st), st);
        throw new FrSpecException($"{dir}: no pytorch_model.bin or model.safetensors found (expected an EAGLE-1/2 head)");
    }

    /// <summary>One weight file of a head (Medusa's medusa_lm_head.safetensors or .pt): safetensors by extension, else a torch zip.</summary>
    public static EagleTensors OpenFile(string path) =>
        path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
            ? new SafetensorsEagleTensors(TensorStore.OpenFiles(Path.GetDirectoryName(Path.GetFullPath(path))!, path), path)
            : TorchBinEagleTensors.Open(path);

    /// <summary>Canonical name: published heads have no prefix, re-packaged ones may carry "model.".</summary>
    public static string Canonical(string name) => name.StartsWith("model.", StringComparison.Ordinal) ? name["model.".Length..] : name;
}

/// <summary>EAGLE tensors from a safetensors file, used in place.</summary>
internal sealed class SafetensorsEagleTensors : EagleTensors
{
    private readonly TensorStore _store;
    private readonly Dictionary<string, string> _stored = new(); // canonical → stored name
    private readonly string _path;

    public SafetensorsEagleTensors(TensorStore store, string path)
    {
        _store = store; _path = path;
        foreach (var n in store.Names)
            if (!_stored.TryAdd(Canonical(n), n))
                throw new FrSpecException($"{path}: tensor '{n}' appears both with and without the 'model.' prefix");
    }

    public override string Source => _path;
    public override IEnumerable<string> Names => _stored.Keys;
    public override bool Contains(string name) => _stored.ContainsKey(name);
    public override WeightMatrix Matrix(string name, int rows, int cols) => _store.Matrix(Stored(name), rows, cols);
    public override bool CopiesMatrices => _store.UsesHugePages;
    public override float[] Vector(string name, int length) => _store.Vector(Stored(name), length);

    public override long[] Integers(string name, int length)
    {
        var (file, e) = _store.Find(Stored(name));
        if (e.Shape.Length != 1 || e.Shape[0] != length)
            throw new FrSpecException($"{_path}: tensor '{name}' has shape [{string.Join(", ", e.Shape)}], expected [{length}]");
        var bytes = file.Bytes(e);
        var result = new long[length];
        for (int i = 0; i < length; i++)
            result[i] = e.DType switch
            {
                "I64" => System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(bytes.Slice(i * 8)),
                "I32" => System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes.Slice(i * 4)),
                "BOOL" or "U8" => bytes[i],
                _ => throw new FrSpecException($"{_path}: tensor '{name}' has dtype {e.DType}; expected I64, I32 or BOOL"),
            };
        return result;
    }

    private string Stored(string name) => _stored.TryGetValue(name, out var s) ? s : throw new FrSpecException($"{_path}: tensor '{name}' is missing");
    public override void Dispose() => _store.Dispose();
}
