using FrSpec.Formats.Torch;
using FrSpec.Numerics;

namespace FrSpec.Speculative;

/// <summary>
/// EAGLE tensors decoded from a pytorch_model.bin by the safe torch reader (no code execution). Matrices are copied
/// once into owned memory in their stored precision, so f16/bf16 heads cost no more than on disk.
/// </summary>
internal sealed class TorchBinEagleTensors : EagleTensors
{
    private readonly Dictionary<string, TorchTensor> _tensors = new();
    private readonly List<WeightMatrix> _owned = new();
    private readonly string _path;

    private TorchBinEagleTensors(string path) { _path = path; }

    public static new EagleTensors Open(string path)
    {
        var t = new TorchBinEagleTensors(path);
        foreach (var (name, tensor) in TorchCheckpoint.ReadStateDict(path))
        {
            if (name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)) continue; // a buffer, recomputed from θ
            if (!t._tensors.TryAdd(Canonical(name), tensor))
                throw new FrSpecException($"{path}: tensor '{name}' appears both with and without the 'model.' prefix");
        }
        return t;
    }

    public override string Source => _path;
    public override IEnumerable<string> Names => _tensors.Keys;
    public override bool Contains(string name) => _tensors.ContainsKey(name);

    public override unsafe WeightMatrix Matrix(string name, int rows, int cols)
    {
        var t = Get(name, rows, cols);
        DType type = t.DType switch
        {
            TorchDType.Float32 => DType.F32,
            TorchDType.Float16 => DType.F16,
            TorchDType.BFloat16 => DType.BF16,
            _ => throw new FrSpecException($"{_path}: tensor '{name}' has dtype {t.DType}; expected float32, float16 or bfloat16"),
        };
        var m = WeightMatrix.Allocate(type, rows, cols);
        _owned.Add(m);
        t.Data.CopyTo(new Span<byte>((void*)m.Data, checked((int)m.ByteCount)));
        return m;
    }

    public override bool CopiesMatrices => true;

    public override float[] Vector(string name, int length) => Get(name, length).ToFloat32Array();

    private TorchTensor Get(string name, params int[] shape)
    {
        if (!_tensors.TryGetValue(name, out var t)) throw new FrSpecException($"{_path}: tensor '{name}' is missing");
        var s = t.Shape;
        if (s.Length != shape.Length || !s.Zip(shape).All(p => p.First == p.Second))
            throw new FrSpecException($"{_path}: tensor '{name}' has shape [{string.Join(", ", s)}], expected [{string.Join(", ", shape)}]");
        return t;
    }

    public override void Dispose() { foreach (var m in _owned) m.Dispose(); _owned.Clear(); }
}
