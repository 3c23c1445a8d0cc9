using FrSpec.Cli.Commands;
using FrSpec.Text;

namespace FrSpec.Tests.Text;

public class TokenizeCommandTests
{
    private static string Run(string name, string input, bool addSpecial = false, bool jsonl = false, bool decode = false)
    {
        var tok = TokenizerLoader.Load(TestAssets.TokenizerDir(name));
        var output = new StringWriter();
        TokenizeCommand.Run(tok, new StringReader(input), output, addSpecial, jsonl, decode, skipSpecial: false);
        return output.ToString();
    }

    [Fact]
    public void EncodesStdinAsOneJsonArray()
    {
        Assert.Equal("[9906,1917,128009]\n", Run("llama3", "Hello world<|eot_id|>"));
        Assert.Equal("[1,22557,1526]\n", Run("llama2", "Hello world", addSpecial: true));   // this package's vocabulary is Mistral-7B's
    }

    [Fact]
    public void JsonlEncodesAndDecodesLineByLine()
    {
        Assert.Equal("[9906]\n[1917]\n", Run("llama3", "\"Hello\"\n\" world\"\n", jsonl: true));
        Assert.Equal("\"Hello\"\n\" world\"\n", Run("llama3", "[9906]\n[1917]\n", jsonl: true, decode: true));
        Assert.Equal("Hello world", Run("llama3", "[9906, 1917]", decode: true));
    }

    [Fact]
    public void BadInputIsAClearError()
    {
        Assert.Contains("line 2", Assert.Throws<FrSpecException>(() => Run("llama3", "\"ok\"\nnot json\n", jsonl: true)).Message);
        Assert.Contains("outside the vocabulary", Assert.Throws<FrSpecException>(() => Run("llama3", "[999999]", decode: true)).Message);
    }
}
