using System.Text;
using System.Text.Json.Nodes;
using FrSpec.Benchmarks;
using FrSpec.Formats;
using FrSpec.Fuzzing;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Text;

namespace FrSpec.Tests.Formats;

/// <summary>
/// Every field of the files a model comes with is kind- and range-checked, and every JSON reader checks the text first:
/// the malformed inputs that used to crash or pass silently now fail with one error naming the file and the field.
/// </summary>
public class InputValidationTests
{
    /// <summary>A copy of the fuzzing seed model (config, generation config, weights, tokenizer files).</summary>
    private static string Model()
    {
        string dir = TestModels.NewTempDir();
        FuzzSeeds.WriteModel(dir);
        return dir;
    }

    private static void Edit(string file, Action<JsonObject> change)
    {
        var o = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        change(o);
        File.WriteAllText(file, o.ToJsonString());
    }

    private static FrSpecException Fails(string dir) =>
        Assert.Throws<FrSpecException>(() => { using var m = LanguageModel.Load(dir, new EngineOptions { Threads = 1 }); });

    [Theory]
    [InlineData("rms_norm_eps", "0", "rms_norm_eps")]
    [InlineData("rms_norm_eps", "-1e-5", "rms_norm_eps")]
    [InlineData("rms_norm_eps", "1e-50", "rms_norm_eps")]
    [InlineData("rms_norm_eps", "\"1e-5\"", "'rms_norm_eps' must be a number")]
    [InlineData("rope_theta", "0", "rope_theta")]
    [InlineData("rope_theta", "-500000", "rope_theta")]
    [InlineData("rope_theta", "1e400", "'rope_theta' must be a finite number")]
    [InlineData("rope_scaling", "{\"rope_type\": \"llama3\", \"factor\": 0}", "rope_scaling.factor")]
    [InlineData("rope_scaling", "{\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 4, \"high_freq_factor\": 4}", "high_freq_factor")]
    [InlineData("rope_scaling", "{\"type\": \"linear\", \"factor\": -2}", "rope_scaling.factor")]
    [InlineData("eos_token_id", "300", "eos_token_id")]
    [InlineData("bos_token_id", "-1", "bos_token_id")]
    [InlineData("vocab_size", "0", "vocab_size")]
    [InlineData("hidden_size", "\"64\"", "'hidden_size' must be an integer")]
    [InlineData("num_hidden_layers", "2147483647", "num_hidden_layers")]
    [InlineData("num_key_value_heads", "3", "num_key_value_heads")]
    [InlineData("head_dim", "15", "head_dim")]
    [InlineData("architectures", "[5]", "'architectures' must be a list of strings")]
    [InlineData("tie_word_embeddings", "\"true\"", "tie_word_embeddings")]
    [InlineData("max_position_embeddings", "0", "max_position_embeddings")]
    public void Config_fields_are_range_and_kind_checked(string field, string json, string mention)
    {
        string dir = Model();
        Edit(Path.Combine(dir, "config.json"), o => o[field] = JsonNode.Parse(json));
        var e = Fails(dir);
        Assert.Contains(mention, e.Message);
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void Head_and_size_products_cannot_overflow_into_a_passing_shape()
    {
        // 65536 × 65536 wraps to 0 in 32 bits; with the checked bounds the config is refused before any allocation.
        string dir = Model();
        Edit(Path.Combine(dir, "config.json"), o => { o["num_attention_heads"] = 65536; o["num_key_value_heads"] = 65536; o["head_dim"] = 65536; });
        Assert.Contains("num_attention_heads", Fails(dir).Message);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Edit(Path.Combine(dir, "config.json"), o => { o["num_attention_heads"] = 4; o["num_key_value_heads"] = 2; o["head_dim"] = 16; o["num_hidden_layers"] = 1000; });
        Assert.Contains("model.layers.2", Fails(dir).Message);   // the weights hold 2 layers
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20);
    }

    [Theory]
    [InlineData("{\"do_sample\": true, \"top_p\": 0}", "top_p")]
    [InlineData("{\"do_sample\": true, \"temperature\": 1e400}", "temperature")]
    [InlineData("{\"do_sample\": \"yes\"}", "do_sample")]
    [InlineData("{\"eos_token_id\": [1, 300]}", "eos_token_id")]
    [InlineData("{\"max_new_tokens\": -1}", "max_new_tokens")]
    public void Generation_config_fields_are_checked(string json, string mention)
    {
        string dir = Model();
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), json);
        var e = Fails(dir);
        Assert.Contains(mention, e.Message);
        Assert.Contains("generation_config.json", e.Message);
    }

    [Fact]
    public void Invalid_UTF8_lone_surrogates_and_BOMs_in_JSON()
    {
        string dir = Model(), config = Path.Combine(dir, "config.json");
        var bytes = File.ReadAllBytes(config);
        int quote = Array.IndexOf(bytes, (byte)'"', Array.IndexOf(bytes, (byte)':')) + 1;
        File.WriteAllBytes(config, [.. bytes[..quote], 0xC3, .. bytes[quote..]]);
        Assert.Contains("invalid UTF-8 at byte", Fails(dir).Message);
        File.WriteAllBytes(config, [.. bytes[..quote], .. "\\uD800"u8.ToArray(), .. bytes[quote..]]);
        Assert.Contains("lone high surrogate", Fails(dir).Message);
        File.WriteAllBytes(config, [.. bytes[..quote], .. "\\uDC00"u8.ToArray(), .. bytes[quote..]]);
        Assert.Contains("lone low surrogate", Fails(dir).Message);
        // A pair is a character; a byte-order mark is tolerated.
        byte[] withBom = [0xEF, 0xBB, 0xBF, .. "{\"a\": \"\\uD83D\\uDE00\"}"u8.ToArray()];
        using var doc = JsonInput.Parse(withBom, "x.json");
        Assert.Equal("\U0001F600", doc.RootElement.GetProperty("a").GetString());
        File.WriteAllBytes(config, [0xEF, 0xBB, 0xBF, .. bytes]);
        using (LanguageModel.Load(dir, new EngineOptions { Threads = 1 })) { }
    }

    [Fact]
    public void Escaped_backslashes_are_not_escapes()
    {
        JsonInput.CheckUnicode("{\"a\": \"\\\\uD800\"}"u8, "x");   // the string is the six characters \uD800
        var e = Assert.Throws<FrSpecException>(() => JsonInput.CheckUnicode("{\"a\": \"\\\\\\uD800\"}"u8, "x.json"));
        Assert.Contains("x.json", e.Message);
    }

    [Fact]
    public void Safetensors_headers_and_shard_indexes_check_kinds_before_reading()
    {
        string dir = TestModels.NewTempDir(), p = Path.Combine(dir, "x.safetensors");
        void Write(string header)
        {
            var h = Encoding.UTF8.GetBytes(header);
            File.WriteAllBytes(p, [.. BitConverter.GetBytes((long)h.Length), .. h, .. new byte[16]]);
        }
        Write("{\"\\uD800\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}");
        Assert.Contains("surrogate", Assert.Throws<FrSpecException>(() => SafetensorsFile.Open(p)).Message);
        Write("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[\"0\",8]}}");
        Assert.Contains("data_offsets", Assert.Throws<FrSpecException>(() => SafetensorsFile.Open(p)).Message);
        Write("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}");
        Assert.Contains("'a'", Assert.Throws<FrSpecException>(() => SafetensorsFile.Open(p)).Message);

        string model = TestModels.NewTempDir();
        FuzzSeeds.WriteModel(model, maxShardBytes: 48 << 10);
        string index = Path.Combine(model, "model.safetensors.index.json");
        Edit(index, o => o["weight_map"]!["model.norm.weight"] = 5);
        Assert.Contains("is not a file name", Fails(model).Message);
        Edit(index, o => o["weight_map"] = new JsonArray());
        Assert.Contains("weight_map", Fails(model).Message);
    }

    [Fact]
    public void Question_files_check_kinds_and_text()
    {
        string dir = TestModels.NewTempDir(), p = Path.Combine(dir, "q.jsonl");
        File.WriteAllText(p, "{\"question_id\": 1, \"category\": \"x\", \"turns\": [\"\\uD800\"]}\n");
        var e = Assert.Throws<FrSpecException>(() => QuestionSet.Load(p));
        Assert.Contains("q.jsonl:1", e.Message);
        File.WriteAllBytes(p, [.. "{\"question_id\": 1, \"turns\": [\""u8.ToArray(), 0xFF, .. "\"]}\n"u8.ToArray()]);
        Assert.Contains("q.jsonl:1: not UTF-8", Assert.Throws<FrSpecException>(() => QuestionSet.Load(p)).Message);
        File.WriteAllText(p, "{\"question_id\": {}, \"turns\": [\"a\"]}\n");
        Assert.Contains("question_id", Assert.Throws<FrSpecException>(() => QuestionSet.Load(p)).Message);
    }

    [Fact]
    public void A_catastrophic_split_pattern_is_an_error_naming_the_file_and_pattern()
    {
        string dir = TestModels.NewTempDir();
        string tok = FuzzSeeds.WriteTokenizer(dir);
        Edit(tok, o => o["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"] = new JsonObject { ["Regex"] = "(a+)+$" });
        var t = TokenizerLoader.Load(tok);
        var e = Assert.Throws<FrSpecException>(() => t.Encode(new string('a', 40) + "!"));
        Assert.Contains("(a+)+$", e.Message);
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Contains("pre_tokenizer.Split", e.Message);
        Edit(tok, o => o["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"] = new JsonObject { ["Regex"] = "(" });
        Assert.Contains("invalid regular expression", Assert.Throws<FrSpecException>(() => TokenizerLoader.Load(tok)).Message);
    }

    [Fact]
    public void Sampling_values_that_are_not_numbers_are_refused()
    {
        Assert.Contains("top-p", Assert.Throws<FrSpecException>(() => new Sampler(new SamplingOptions(0.7f, 0, float.NaN))).Message);
        Assert.Contains("temperature", Assert.Throws<FrSpecException>(() => new Sampler(new SamplingOptions(float.PositiveInfinity))).Message);
        Assert.Contains("temperature", Assert.Throws<FrSpecException>(() => new Sampler(new SamplingOptions(float.NaN))).Message);
        // A temperature whose inverse overflows samples the limit distribution: the largest logit.
        var s = new Sampler(new SamplingOptions(1e-45f, 0, 0.9f, 3));
        var probs = new float[4];
        Assert.Equal(2, s.Sample([0.5f, 1f, 3f, -2f], probs));
    }
}
