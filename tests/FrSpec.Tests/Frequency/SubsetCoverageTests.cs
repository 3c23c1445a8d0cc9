using FrSpec.Frequency;
using FrSpec.Tests.Formats;

namespace FrSpec.Tests.Frequency;

public class SubsetCoverageTests
{
    [Fact]
    public void Coverage_is_the_share_of_eval_tokens_in_the_subset()
    {
        long[] train = [10, 8, 6, 4, 2];
        long[] eval = [1, 1, 1, 1, 6];
        var ranking = TokenCounts.Ranking(train);
        var curve = SubsetCoverage.Curve(ranking, [4], eval, [1, 2, 5]);
        // size 1 with required id 4 => {4}: 6/10; size 2 => {0,4}: 7/10; all => 1.
        Assert.Equal(0.6, curve[0].Coverage, 9);
        Assert.Equal(0.7, curve[1].Coverage, 9);
        Assert.Equal(1.0, curve[2].Coverage, 9);
    }

    [Fact]
    public void Report_sizes_are_log_spaced_with_the_standard_sizes_and_full()
    {
        var sizes = SubsetCoverage.ReportSizes(128256);
        Assert.Equal(1024, sizes[0]);
        Assert.Equal(128256, sizes[^1]);
        foreach (var v in new[] { 2048, 4096, 8192, 16384, 32768, 65536 }) Assert.Contains(v, sizes);
        Assert.True(sizes.Zip(sizes.Skip(1)).All(p => p.First < p.Second));
    }

    [Fact]
    public void Generations_file_accepts_ids_and_text_lines()
    {
        using var tmp = new TorchFixtures.TempDir();
        var tok = new FakeTokenizer();
        File.WriteAllLines(tmp.File("gen.jsonl"), ["{\"ids\": [3, 3, 7]}", "", "{\"text\": \"w1 <|eot_id|>\"}"]);
        var counts = SubsetCoverage.CountGenerations(tmp.File("gen.jsonl"), 1000, tok);
        Assert.Equal(3, counts[3]);
        Assert.Equal(1, counts[7]);
        Assert.Equal(1, counts[tok.WordId("w1")]);
        Assert.Equal(0, counts[1]); // no BOS: generations are encoded without special tokens
        File.WriteAllLines(tmp.File("bad.jsonl"), ["{\"ids\": [3, 5000]}"]);
        Assert.Contains("bad.jsonl:1", Assert.Throws<FrSpecException>(() => SubsetCoverage.CountGenerations(tmp.File("bad.jsonl"), 1000, tok)).Message);
    }
}
