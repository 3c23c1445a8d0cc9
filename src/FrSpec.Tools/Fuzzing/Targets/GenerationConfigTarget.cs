using System.Text.Json.Nodes;
using FrSpec.Fuzzing.Mutators;

namespace FrSpec.Fuzzing.Targets;

/// <summary>generation_config.json: ids, sampling values and budgets; the model generates with the file's own defaults.</summary>
public sealed class GenerationConfigTarget : FuzzTarget
{
    private static readonly JsonMutator Generation = new(new Dictionary<string, JsonNode?[]>
    {
        ["do_sample"] = [true, false, "true", 1, null],
        ["temperature"] = [0, -1, 1e-45, 1e-300, 1e6, 1e7, 1e308, "0.7"],
        ["top_p"] = [0, -0.1, 1e-45, 1, 1.0000001, 2, "0.9"],
        ["top_k"] = [0, -1, 1, 300, 301, int.MaxValue, 2.5],
        ["max_new_tokens"] = [0, -1, 1, 64, 4096, int.MaxValue],
        ["eos_token_id"] = [-1, 300, new JsonArray(), new JsonArray(-1), new JsonArray(1.5)],
        ["bos_token_id"] = [-1, 300, int.MaxValue],
    });

    public override string Name => "generation-config";
    public override string Description => "generation_config.json (sampling values, ids, budgets): load, generate with the file's defaults";

    public override void WriteSeed(string dir) => FuzzSeeds.WriteModel(dir);

    public override FuzzCase Mutate(IReadOnlyDictionary<string, byte[]> seed, Random rng) =>
        One("generation_config.json", Generation.Mutate(seed["generation_config.json"], rng));

    public override void Exercise(string dir)
    {
        using var lm = Sessions.LanguageModel.Load(dir, Options);
        using var session = lm.CreateSession();
        // null options: the file's sampling and max_new_tokens, capped so that a valid huge budget stays quick.
        var budget = Math.Min(lm.Vocabulary.GenerationConfig.MaxNewTokens ?? 4, 64);
        session.Generate(lm.Vocabulary.Encode("hello world"), new Generation.GenerationOptions { MaxNewTokens = budget, Sampling = lm.Vocabulary.GenerationConfig.Sampling });
    }
}
