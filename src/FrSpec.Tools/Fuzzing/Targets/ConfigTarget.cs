using System.Text.Json.Nodes;
using FrSpec.Fuzzing.Mutators;

namespace FrSpec.Fuzzing.Targets;

/// <summary>config.json of a small model: every field given boundary, wrong-kind and overflowing values; loaded and run.</summary>
public sealed class ConfigTarget : FuzzTarget
{
    private static JsonNode?[] Sizes(params long[] extra) =>
        [.. new long[] { 0, -1, 1, 2, 3, 16, 63, 64, 65, 96, 128, 1 << 16, (1 << 16) + 1, 1 << 20, int.MaxValue, 1L << 32 }.Concat(extra).Select(v => (JsonNode?)v), "64", 64.5, null];

    private static readonly JsonMutator Config = new(new Dictionary<string, JsonNode?[]>
    {
        ["hidden_size"] = Sizes(),
        ["intermediate_size"] = Sizes(),
        ["num_hidden_layers"] = Sizes(1024, 1025),
        ["num_attention_heads"] = Sizes(4096, 65536),
        ["num_key_value_heads"] = Sizes(4096, 65536),
        ["head_dim"] = Sizes(15, 17, 32, 65536),
        ["vocab_size"] = Sizes(299, 300, 301, 1 << 22, (1 << 22) + 1),
        ["max_position_embeddings"] = Sizes(4, 4096),
        ["rms_norm_eps"] = [0, -1e-5, 1e-45, 1e-50, 1e-300, 2, 1e308, "1e-5", null],
        ["rope_theta"] = [0, -1, 1e-300, 1, 1e308, "500000", null],
        ["rope_scaling"] = [null, new JsonObject { ["rope_type"] = "llama3", ["factor"] = 0 }, new JsonObject { ["rope_type"] = "llama3", ["factor"] = 8, ["low_freq_factor"] = 4, ["high_freq_factor"] = 4 },
            new JsonObject { ["type"] = "linear", ["factor"] = -1 }, new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4 }, new JsonObject { ["rope_type"] = "llama3" }, "llama3"],
        ["factor"] = [0, -1, 1e-300, 1e308, "8"],
        ["low_freq_factor"] = [0, -1, 4, 1e308],
        ["high_freq_factor"] = [0, 1, 1e-300],
        ["original_max_position_embeddings"] = [0, -1, 1, int.MaxValue],
        ["architectures"] = [new JsonArray("MistralForCausalLM"), new JsonArray("Qwen2ForCausalLM"), new JsonArray("GPT2LMHeadModel"), new JsonArray(1), new JsonArray(), "LlamaForCausalLM"],
        ["model_type"] = ["mistral", "qwen2", "gpt2", 5],
        ["eos_token_id"] = [-1, 300, int.MaxValue, new JsonArray(), new JsonArray(1, "a"), new JsonArray(Enumerable.Range(0, 2000).Select(i => (JsonNode?)(i % 300)).ToArray())],
        ["bos_token_id"] = [-1, 300, 299, new JsonArray(296, 297)],
        ["tie_word_embeddings"] = [false, "true", 1],
        ["attention_bias"] = [true, "false"],
        ["mlp_bias"] = [true],
        ["sliding_window"] = [0, -1, 1, 4, null],
        ["use_sliding_window"] = [true],
        ["hidden_act"] = ["gelu", "SiLU", ""],
        ["torch_dtype"] = [5, "float32"],
    });

    public override string Name => "config";
    public override string Description => "config.json (sizes, eps, θ, rope scaling, ids, kinds): load, generate";

    public override void WriteSeed(string dir) => FuzzSeeds.WriteModel(dir);

    public override FuzzCase Mutate(IReadOnlyDictionary<string, byte[]> seed, Random rng) => One("config.json", Config.Mutate(seed["config.json"], rng));

    public override void Exercise(string dir) => ModelUse.Generate(dir, Options);
}
