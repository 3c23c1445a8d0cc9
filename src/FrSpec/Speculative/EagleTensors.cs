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
    private string Stored(string name) => _stored.TryGetValue(name, out var s) ? s : throw new FrSpecException($"{_path}: tensor '{name}' is missing");
    public override void Dispose() => _store.Dispose();
}
