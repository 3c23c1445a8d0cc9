using FrSpec.Fuzzing.Mutators;
using FrSpec.Model;

namespace FrSpec.Fuzzing.Targets;

/// <summary>model.safetensors of a small model: header JSON, length prefix and data; the model is loaded and run.</summary>
public sealed class SafetensorsTarget : FuzzTarget
{
    public override string Name => "safetensors";
    public override string Description => "model.safetensors (header JSON, length prefix, weights incl. NaN/∞): load, forward, logits";

    public override void WriteSeed(string dir) => FuzzSeeds.WriteModel(dir, Numerics.DType.BF16);

    public override FuzzCase Mutate(IReadOnlyDictionary<string, byte[]> seed, Random rng) =>
        One("model.safetensors", SafetensorsMutator.Mutate(seed["model.safetensors"], rng));

    public override void Exercise(string dir)
    {
        using var m = Transformer.Load(dir, Options);
        ModelUse.Forward(m);
    }
}
