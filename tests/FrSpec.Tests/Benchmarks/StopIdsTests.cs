using FrSpec.Benchmarks;

namespace FrSpec.Tests.Benchmarks;

public class StopIdsTests
{
    [Fact]
    public void FromModelDirectory_CombinesConfigEosIdsWithEndOfTurnTokens()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "generation_config.json"), "{\"bos_token_id\": 1, \"eos_token_id\": [3, 70000, 9]}");
        File.WriteAllText(Path.Combine(dir.Path, "config.json"), "{\"eos_token_id\": 3}");
        var ids = StopIds.FromModelDirectory(dir.Path, new FakeTokenizer());
        // 3 and 9 from the configs (70000 is outside the vocabulary), 2 = <|eot_id|> and 3 = </s> from the tokenizer.
        Assert.Equal(new[] { 2, 3, 9 }, ids);
    }

    [Fact]
    public void FromModelDirectory_WithoutConfigs_UsesTheTokenizer()
    {
        using var dir = new TempDir();
        Assert.Equal(new[] { 2, 3 }, StopIds.FromModelDirectory(dir.Path, new FakeTokenizer()));
    }

    [Fact]
    public void FromModelDirectory_BadJson_NamesTheFile()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "config.json"), "{oops");
        var e = Assert.Throws<FrSpecException>(() => StopIds.FromModelDirectory(dir.Path, new FakeTokenizer()));
        Assert.Contains("config.json", e.Message);
    }
}
