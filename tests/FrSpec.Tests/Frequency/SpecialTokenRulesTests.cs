using FrSpec.Frequency;
using FrSpec.Tests.Formats;

namespace FrSpec.Tests.Frequency;

public class SpecialTokenRulesTests
{
    [Fact]
    public void Chat_tokens_present_in_the_vocabulary_are_required()
    {
        var ids = SpecialTokenRules.RequiredIds(new FakeTokenizer(), null);
        Assert.Equal(new[] { 1, 2, 3, 4, 5 }, ids);
    }

    [Fact]
    public void Eos_ids_come_from_generation_config_and_tokenizer_config()
    {
        using var tmp = new TorchFixtures.TempDir();
        File.WriteAllText(tmp.File("generation_config.json"), "{\"eos_token_id\": [2, 17]}");
        File.WriteAllText(tmp.File("config.json"), "{\"eos_token_id\": 18}");
        File.WriteAllText(tmp.File("tokenizer_config.json"), "{\"eos_token\": {\"content\": \"<|eot_id|>\"}}");
        var ids = SpecialTokenRules.RequiredIds(new FakeTokenizer(), tmp.Path);
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 17, 18 }, ids);
    }
}
