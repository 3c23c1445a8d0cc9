using FrSpec.Generation;
using FrSpec.Numerics;
using FrSpec.Sessions;
using FrSpec.Synthesis;
using FrSpec.Tests.Formats;

namespace FrSpec.Tests.Sessions;

/// <summary>A GGUF file is a model like a directory: same tokens, stop ids and output through LanguageModel.</summary>
public class GgufSessionTests
{
    [Fact]
    public void A_gguf_export_generates_what_its_source_directory_generates()
    {
        var spec = new SynthSpec
        {
            Family = "qwen2", HiddenSize = 32, IntermediateSize = 64, Layers = 2, Heads = 2, KvHeads = 1,
            VocabSize = 151936, TieWordEmbeddings = true, EosTokenIds = [151645],
        };
        var (dir, gguf) = GgufFixtures.Export(spec, DType.F32, TestAssets.TokenizerJson("qwen3"));
        using var fromDir = LanguageModel.Load(dir);
        using var fromGguf = LanguageModel.Load(gguf);

        Assert.Contains(151645, fromGguf.Vocabulary.StopTokens);
        var prompt = fromDir.Vocabulary.Encode("The lighthouse keeper found a bottle");
        Assert.Equal(prompt, fromGguf.Vocabulary.Encode("The lighthouse keeper found a bottle"));
        var options = new GenerationOptions { MaxNewTokens = 12 };
        using var a = fromDir.CreateSession(DecodingMethod.Vanilla);
        using var b = fromGguf.CreateSession(DecodingMethod.Vanilla);
        Assert.Equal(a.Generate(prompt, options).Ids, b.Generate(prompt, options).Ids);
    }
}
