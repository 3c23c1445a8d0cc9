using FrSpec.Formats.Gguf;
using FrSpec.Fuzzing.Mutators;

namespace FrSpec.Fuzzing.Targets;

/// <summary>A llama.cpp GGUF file exported from the seed model: header, metadata, tensor infos; loaded, run, tokenizer used.</summary>
public sealed class GgufTarget : FuzzTarget
{
    private const string File = "model.gguf";
    private GgufFieldMap? _map;

    public override string Name => "gguf";
    public override string Description => "GGUF (header, metadata, tensor infos, tokenizer metadata): load, generate";

    public override void WriteSeed(string dir)
    {
        string model = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(dir))!, "gguf-source");
        FuzzSeeds.WriteModel(model, Numerics.DType.F16);
        GgufModelExporter.Export(model, Path.Combine(dir, File));
        Directory.Delete(model, recursive: true);
    }

    public override FuzzCase Mutate(IReadOnlyDictionary<string, byte[]> seed, Random rng)
    {
        var bytes = seed[File];
        var map = _map ??= new GgufFieldMap(bytes);
        return One(File, GgufMutator.Mutate(bytes, map, rng));
    }

    public override void Exercise(string dir)
    {
        string path = Path.Combine(dir, File);
        using (var f = GgufFile.Open(path))
            foreach (var key in f.Metadata.Keys) _ = f.Metadata.Raw(key);
        ModelUse.Generate(path, Options);
    }
}
