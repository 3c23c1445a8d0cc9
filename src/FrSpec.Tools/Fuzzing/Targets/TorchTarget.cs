using System.Text.Json.Nodes;
using FrSpec.Formats.Torch;
using FrSpec.Fuzzing.Mutators;
using FrSpec.Sessions;

namespace FrSpec.Fuzzing.Targets;

/// <summary>
/// A torch.save checkpoint (zip + pickle): an EAGLE head's pytorch_model.bin (and its config.json) next to a target
/// model. The state dict is read with the safe unpickler, the head is loaded, and EAGLE-2 drafts with it.
/// </summary>
public sealed class TorchTarget : FuzzTarget
{
    private const string Bin = "head/pytorch_model.bin", HeadConfig = "head/config.json";

    private static readonly JsonMutator Config = new(new Dictionary<string, JsonNode?[]>
    {
        ["num_hidden_layers"] = [0, 2, int.MaxValue],
        ["hidden_size"] = [32, 128, int.MaxValue],
        ["bias"] = [true, false, "no"],
        ["qkv_bias"] = [true, "yes"],
        ["draft_vocab_size"] = [8000],
    });

    public override string Name => "torch";
    public override string Description => "torch.save zip + pickle (an EAGLE head's pytorch_model.bin and config): safe unpickling, head load, EAGLE-2 drafting";

    public override void WriteSeed(string dir)
    {
        string target = Path.Combine(dir, "target");
        FuzzSeeds.WriteModel(target);
        Synthesis.EagleSynthesizer.Write(target, Path.Combine(dir, "head"), "bin", seed: 3);
    }

    public override FuzzCase Mutate(IReadOnlyDictionary<string, byte[]> seed, Random rng) =>
        rng.Next(5) == 0 ? One(HeadConfig, Config.Mutate(seed[HeadConfig], rng)) : One(Bin, TorchMutator.Mutate(seed[Bin], rng));

    public override void Exercise(string dir)
    {
        foreach (var (_, t) in TorchCheckpoint.ReadStateDict(Path.Combine(dir, Bin))) _ = t.ToFloat32Array().Length;
        ModelUse.Generate(Path.Combine(dir, "target"), Options, _ => DecodingMethod.Eagle(Path.Combine(dir, "head")));
    }
}
