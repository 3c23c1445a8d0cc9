using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Tests.Formats;

namespace FrSpec.Tests.Sessions;

/// <summary>One resolved set of stop tokens and control ids from a model directory's files, and clear errors for bad ones.</summary>
public class ModelVocabularyTests
{
    /// <summary>A model directory holding the real Llama-3 tokenizer files plus the given config files.</summary>
    private static TorchFixtures.TempDir Llama3Dir(string? config, string? generationConfig)
    {
        var tmp = new TorchFixtures.TempDir();
        foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(TestAssets.TokenizerDir("llama3"), f), tmp.File(f));
        if (config != null) File.WriteAllText(tmp.File("config.json"), config);
        if (generationConfig != null) File.WriteAllText(tmp.File("generation_config.json"), generationConfig);
        return tmp;
    }

    [Fact]
    public void StopTokensJoinConfigGenerationConfigTokenizerConfigAndTemplate()
    {
        using var dir = Llama3Dir("{\"vocab_size\": 128256, \"eos_token_id\": 128008}", "{\"eos_token_id\": [128001, 128009], \"bos_token_id\": 128000}");
        var v = ModelVocabulary.Load(dir.Path);
        Assert.Equal(128256, v.Size);
        // 128008 from config.json, 128001 and 128009 from generation_config.json; tokenizer_config's eos_token is
        // <|end_of_text|> (128001) and the template's end of turn <|eot_id|> (128009): one set, each id once.
        Assert.Equal([128001, 128008, 128009], v.StopTokens.Ids);
        Assert.Equal("config.json eos_token_id", v.StopTokens.SourceOf(128008));
        Assert.Equal("generation_config.json eos_token_id", v.StopTokens.SourceOf(128001));
        Assert.NotNull(v.ChatTemplate);
        // control ids: BOS, the stop ids and the header tokens the chat template writes; nothing from a hard-coded list
        Assert.Equal([128000, 128001, 128006, 128007, 128008, 128009], v.ControlIds);
    }

    [Fact]
    public void WithoutTemplateControlIdsAreBosAndStops()
    {
        using var tmp = new TorchFixtures.TempDir();
        File.WriteAllText(tmp.File("config.json"), "{\"vocab_size\": 100, \"bos_token_id\": 1, \"eos_token_id\": [2, 7]}");
        var v = ModelVocabulary.Load(tmp.Path);
        Assert.Null(v.Tokenizer);
        Assert.Null(v.ChatTemplate);
        Assert.Equal([2, 7], v.StopTokens.Ids);
        Assert.Equal([1, 2, 7], v.ControlIds);
        Assert.Contains("no tokenizer.json", Assert.Throws<FrSpecException>(() => v.Encode("hi")).Message);
    }

    [Theory]
    [InlineData("generation_config.json", "{\"eos_token_id\": [2, 70000]}", "eos_token_id")]
    [InlineData("generation_config.json", "{\"bos_token_id\": -1}", "bos_token_id")]
    [InlineData("config.json", "{\"vocab_size\": 100, \"eos_token_id\": 100}", "eos_token_id")]
    [InlineData("generation_config.json", "{\"eos_token_id\": \"2\"}", "eos_token_id")]
    [InlineData("generation_config.json", "{\"do_sample\": true, \"temperature\": 0}", "temperature")]
    [InlineData("generation_config.json", "{\"do_sample\": true, \"top_p\": 1.5}", "top_p")]
    [InlineData("generation_config.json", "{oops", "not valid JSON")]
    public void BadIdsAndValuesNameTheFileAndField(string file, string json, string field)
    {
        using var tmp = new TorchFixtures.TempDir();
        if (file != "config.json") File.WriteAllText(tmp.File("config.json"), "{\"vocab_size\": 100}");
        File.WriteAllText(tmp.File(file), json);
        var e = Assert.Throws<FrSpecException>(() => ModelVocabulary.Load(tmp.Path));
        Assert.Contains(file, e.Message);
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void UnknownEosTokenInTokenizerConfigIsAnError()
    {
        using var dir = Llama3Dir("{\"vocab_size\": 128256}", null);
        File.WriteAllText(dir.File("tokenizer_config.json"), "{\"eos_token\": \"<|no_such_token|>\"}");
        var e = Assert.Throws<FrSpecException>(() => ModelVocabulary.Load(dir.Path));
        Assert.Contains("tokenizer_config.json: eos_token '<|no_such_token|>'", e.Message);
    }

    [Fact]
    public void GenerationConfigGivesSamplingDefaultsAsTransformers()
    {
        using var tmp = new TorchFixtures.TempDir();
        File.WriteAllText(tmp.File("config.json"), "{\"vocab_size\": 100}");
        File.WriteAllText(tmp.File("generation_config.json"), "{\"do_sample\": true, \"temperature\": 0.6, \"top_p\": 0.9, \"max_new_tokens\": 64}");
        var g = ModelVocabulary.Load(tmp.Path).GenerationConfig;
        Assert.Equal(new SamplingOptions(0.6f, GenerationConfig.DefaultTopK, 0.9f), g.Sampling);
        Assert.Equal(64, g.MaxNewTokens);
        File.WriteAllText(tmp.File("generation_config.json"), "{\"temperature\": 0}");
        Assert.True(ModelVocabulary.Load(tmp.Path).GenerationConfig.Sampling.IsGreedy); // do_sample false: greedy, the temperature unused
    }
}
