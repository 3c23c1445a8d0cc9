using FrSpec.Formats.Gguf;
using FrSpec.Numerics;
using FrSpec.Synthesis;
using FrSpec.Tests.Speculative;

namespace FrSpec.Tests.Cli;

/// <summary>
/// `--model FILE.gguf` works wherever a model directory does: the verbs that load a model run to the end on a quantized
/// file written by the quantizer, with an EAGLE head beside it where the verb speculates.
/// </summary>
public class GgufModelVerbTests
{
    private static readonly Lazy<(string Gguf, string Head)> Files = new(() =>
    {
        string dir = TinyModels.NewDir("cli-gguf");
        string tok = FrSpec.Tests.Formats.GgufWriterTests.WriteTokenizer(Path.Combine(dir, "tok"));
        string model = Path.Combine(dir, "model");
        ModelSynthesizer.Write(TinyModels.Spec("llama3", true, vocab: 512, layers: 2, hidden: 256), model, DType.BF16, 7, tokenizerJson: tok);
        string head = Path.Combine(dir, "eagle");
        EagleSynthesizer.Write(model, head, "safetensors", 107);
        string gguf = Path.Combine(dir, "file", "model-q8_0.gguf");
        var (code, error) = ErrorPathTests.Run("quantize", "--model", model, "--type", "q8_0", "--out", gguf);
        Assert.True(code == 0, error);
        // demo's FR-Spec subset: the test tokenizer has no bundled counts, so a freq_64.pt lies beside the file
        FrSpec.Formats.Torch.TorchCheckpointWriter.WriteIntList(Path.Combine(Path.GetDirectoryName(gguf)!, "freq_64.pt"), Enumerable.Range(0, 64).ToArray());
        return (gguf, head);
    });

    public static TheoryData<string> Verbs => ["generate", "generate-eagle", "score", "demo", "bench components"];

    [Theory]
    [MemberData(nameof(Verbs))]
    public void VerbRunsOnAQuantizedGguf(string verb)
    {
        var (gguf, head) = Files.Value;
        string[] args = verb switch
        {
            "generate" => ["generate", "--model", gguf, "--max-tokens", "4", "t1 t2 t3"],
            "generate-eagle" => ["generate", "--model", gguf, "--eagle", head, "--max-tokens", "4", "t1 t2 t3"],
            "score" => ["score", "--model", gguf, "--ids", "1,2,3,4"],
            "demo" => ["demo", "--model", gguf, "--eagle", head, "--fr-sizes", "64", "--max-tokens", "4", "--prompt", "t1 t2"],
            _ => ["bench", "components", "--model", gguf, "--eagle", head, "--repeat", "1", "--tree-tokens", "1", "--tree-tokens", "4",
                "--context", "8", "--prefill", "0", "--rows", "2"],
        };
        var (code, error) = ErrorPathTests.Run(args);
        Assert.True(code == 0, $"{verb}: exit {code}: {error}");
    }

    [Fact]
    public void AMissingGgufIsNamed()
    {
        var (code, error) = ErrorPathTests.Run("score", "--model", "/nonexistent/model.gguf", "--ids", "1,2");
        Assert.NotEqual(0, code);
        ErrorPathTests.AssertOneLineError(error, "/nonexistent/model.gguf");
    }
}
