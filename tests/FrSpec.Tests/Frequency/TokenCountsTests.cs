using FrSpec.Frequency;
using FrSpec.Tests.Formats;

namespace FrSpec.Tests.Frequency;

public class TokenCountsTests
{
    private static TokenCounts Sample() =>
        new([0, 5, 1L << 40, 7, 0, 3], 42, Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), "llama3/tokenizer.json", true);

    [Theory]
    [InlineData("c.bin")]
    [InlineData("c.bin.gz")]
    public void Save_Load_round_trip(string name)
    {
        using var tmp = new TorchFixtures.TempDir();
        var c = Sample();
        c.Save(tmp.File(name));
        var back = TokenCounts.Load(tmp.File(name));
        Assert.Equal(c.Counts, back.Counts);
        Assert.Equal(42, back.Documents);
        Assert.Equal((1L << 40) + 15, back.TotalTokens);
        Assert.Equal(c.TokenizerFingerprint, back.TokenizerFingerprint);
        Assert.Equal("llama3/tokenizer.json", back.TokenizerName);
        Assert.True(back.AddSpecialTokens);
    }

    [Fact]
    public void Corrupt_or_truncated_files_are_rejected()
    {
        using var tmp = new TorchFixtures.TempDir();
        Sample().Save(tmp.File("c.bin"));
        var bytes = File.ReadAllBytes(tmp.File("c.bin"));
        var flipped = (byte[])bytes.Clone();
        flipped[100] ^= 1;
        File.WriteAllBytes(tmp.File("flip.bin"), flipped);
        Assert.Contains("checksum", Assert.Throws<FrSpecException>(() => TokenCounts.Load(tmp.File("flip.bin"))).Message);
        File.WriteAllBytes(tmp.File("cut.bin"), bytes[..^9]);
        Assert.Contains("cut.bin", Assert.Throws<FrSpecException>(() => TokenCounts.Load(tmp.File("cut.bin"))).Message);
        File.WriteAllText(tmp.File("text.bin"), "hello world, this is not a counts file at all......................................");
        Assert.Contains("magic", Assert.Throws<FrSpecException>(() => TokenCounts.Load(tmp.File("text.bin"))).Message);
    }
}
