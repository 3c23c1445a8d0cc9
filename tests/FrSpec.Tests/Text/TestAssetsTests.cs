using System.Text.Json;

namespace FrSpec.Tests.Text;

public class TestAssetsTests
{
    [Theory]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    [InlineData("llama2")]
    public void TokenizerFilesAreFetchedConcurrentlyAndParse(string name)
    {
        var paths = Enumerable.Range(0, 3).AsParallel().Select(_ => TestAssets.TokenizerJson(name)).Distinct().ToList();
        Assert.Single(paths);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(paths[0]));
        Assert.Equal("BPE", doc.RootElement.GetProperty("model").GetProperty("type").GetString());
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(paths[0])!, "tokenizer_config.json")));
    }
}
