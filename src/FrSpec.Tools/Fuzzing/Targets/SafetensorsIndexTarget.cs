using System.Text.Json.Nodes;
using FrSpec.Fuzzing.Mutators;
using FrSpec.Model;

namespace FrSpec.Fuzzing.Targets;

/// <summary>A sharded checkpoint: model.safetensors.index.json and its shards (mutated, deleted); loaded and run.</summary>
public sealed class SafetensorsIndexTarget : FuzzTarget
{
    private const string Index = "model.safetensors.index.json";

    private static readonly JsonMutator IndexMutator = new(new Dictionary<string, JsonNode?[]>
    {
        ["weight_map"] = [new JsonObject(), new JsonArray(), "model.safetensors", null],
        ["total_size"] = [-1, 0, long.MaxValue, "big"],
    });

    private static readonly string[] HostileShardNames =
        ["../model.safetensors", "/etc/passwd", Index, "", ".", "..", "missing.safetensors", "a\\b.safetensors", "shard\u0000.safetensors"];

    public override string Name => "safetensors-index";
    public override string Description => "model.safetensors.index.json and its shards: load, forward, logits";

    public override void WriteSeed(string dir) => FuzzSeeds.WriteModel(dir, Numerics.DType.F16, maxShardBytes: 48 << 10);

    public override FuzzCase Mutate(IReadOnlyDictionary<string, byte[]> seed, Random rng)
    {
        var shards = seed.Keys.Where(k => k.EndsWith(".safetensors", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        switch (rng.Next(10))
        {
            case < 4:
                return One(Index, IndexMutator.Mutate(seed[Index], rng));
            case 4:
            {
                var index = JsonNode.Parse(seed[Index])!;
                var map = index["weight_map"]!.AsObject();
                var key = map.ElementAt(rng.Next(map.Count)).Key;
                string name = HostileShardNames[rng.Next(HostileShardNames.Length)];
                map[key] = name;
                return new FuzzCase(new Dictionary<string, byte[]?> { [Index] = System.Text.Encoding.UTF8.GetBytes(index.ToJsonString()) }, $"{Index}: weight_map['{key}'] = '{name}'");
            }
            case 5:
            {
                string shard = shards[rng.Next(shards.Count)];
                return new FuzzCase(new Dictionary<string, byte[]?> { [shard] = null }, $"{shard} deleted");
            }
            default:
            {
                string shard = shards[rng.Next(shards.Count)];
                return One(shard, SafetensorsMutator.Mutate(seed[shard], rng));
            }
        }
    }

    public override void Exercise(string dir)
    {
        using var m = Transformer.Load(dir, Options);
        ModelUse.Forward(m);
    }
}
