using FrSpec.Numerics;

namespace FrSpec.Speculative;

/// <summary>
/// EAGLE tensors held in memory: what a pytorch_model.bin becomes after the safe torch reader has decoded it
/// (weights kept in their stored precision, so f16/bf16 heads cost no more memory than on disk).
/// </summary>
internal sealed class InMemoryEagleTensors : EagleTensors
{
    private readonly Dictionary<string, (float[] Values, long[] Shape, DType Type)> _tensors = new();
    private readonly List<WeightMatrix> _owned = new();
    private readonly string _path;

    public InMemoryEagleTensors(string path) { _path = path; }

    public void Add(string storedName, float[] values, long[] shape, DType type)
    {
        if (!_tensors.TryAdd(Canonical(storedName), (values, shape, type)))
            throw new FrSpecException($"{_path}: tensor '{storedName}' appears both with and without the 'model.' prefix");
    }

    public override string Source => _path;
    public override IEnumerable<string> Names => _tensors.Keys;
    public override bool Contains(string name) => _tensors.ContainsKey(name);

    public override WeightMatrix Matrix(string name, int rows, int cols)
    {
        var t = Get(name, rows, cols);
        var m = WeightMatrix.FromFloats(t.Values, rows, cols, t.Type);
        _owned.Add(m);
        return m;
    }

    public override float[] Vector(string name, int length) => Get(name, length).Values;

    private (float[] Values, long[] Shape, DType Type) Get(string name, params int[] shape)
    {
        if (!_tensors.TryGetValue(name, out var t)) throw new FrSpecException($"{_path}: tensor '{name}' is missing");
        if (t.Shape.Length != shape.Length || !t.Shape.Zip(shape).All(p => p.First == p.Second))
            throw new FrSpecException($"{_path}: tensor '{name}' has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", shape)}]");
        return t;
    }

    // The matrices are handed to the head, which lives as long as the decoder; they are freed with it.
    public override void Dispose() { foreach (var m in _owned) m.Dispose(); _owned.Clear(); }
}

/// <summary>Reads an EAGLE pytorch_model.bin through the safe torch checkpoint reader (no code execution).</summary>
internal static class TorchBinReader
{
    public static EagleTensors Open(string path)
    {
        // TODO(frvocab merge): decode with FrSpec.Formats.TorchCheckpoint.ReadStateDict.
        throw new FrSpecException($"{path}: reading pytorch_model.bin is not available in this build; convert the head to model.safetensors");
    }
}
