using FrSpec.Formats.Torch;
using FrSpec.Frequency;
using FrSpec.Tests.Formats;

namespace FrSpec.Tests.Frequency;

public class FrequencySubsetTests
{
    [Fact]
    public void Ties_are_broken_by_lower_id()
    {
        long[] counts = [5, 9, 5, 9, 1, 5];
        var s = FrequencySubset.FromCounts(counts, 4, []);
        Assert.Equal(new[] { 1, 3, 0, 2 }, s.Ids);
        Assert.Equal(new[] { 1, 3, 0, 2, 5, 4 }, TokenCounts.Ranking(counts));
    }

    [Fact]
    public void Required_ids_replace_the_lowest_ranked_and_size_is_exact()
    {
        long[] counts = [50, 40, 30, 20, 10, 0, 0, 1];
        // EOS = 6 (never seen), 7 (rare): the two lowest-ranked of the top 4 (ids 2, 3) make room.
        var s = FrequencySubset.FromCounts(counts, 4, [6, 7]);
        Assert.Equal(4, s.Count);
        Assert.Equal(new[] { 0, 1, 7, 6 }, s.Ids); // frequency order, required at their own rank
        Assert.Equal(4, s.Ids.Distinct().Count());
        // Already-present required ids change nothing.
        Assert.Equal(new[] { 0, 1, 2, 3 }, FrequencySubset.FromCounts(counts, 4, [1]).Ids);
    }

    [Fact]
    public void Subset_size_smaller_than_required_is_an_error()
    {
        Assert.Throws<FrSpecException>(() => FrequencySubset.FromCounts(new long[10], 1, [1, 2]));
        Assert.Throws<FrSpecException>(() => FrequencySubset.FromCounts(new long[10], 11, []));
        Assert.Throws<FrSpecException>(() => FrequencySubset.FromCounts(new long[10], 3, [10]));
    }

    [Fact]
    public void Load_official_list_dedups_and_forces_eos()
    {
        using var tmp = new TorchFixtures.TempDir();
        // fr.py's Llama-3 quirk: V ids, then encode(eos) = [BOS, EOT] appended => BOS duplicated, V+2 entries.
        var ids = new List<int> { 128000, 11, 13, 264, 279, 128000, 128009 };
        string path = tmp.File("freq_5.pt");
        TorchCheckpointWriter.WriteIntList(path, ids);
        var all = FrequencySubset.Load(path, 128256, [128009]);
        Assert.Equal(new[] { 128000, 11, 13, 264, 279, 128009 }, all.Ids);
        // First 5 distinct ids, EOT forced in place of the lowest-ranked (279).
        var five = FrequencySubset.Load(path, 128256, [128009], size: 5);
        Assert.Equal(new[] { 128000, 11, 13, 264, 128009 }, five.Ids);
        Assert.Throws<FrSpecException>(() => FrequencySubset.Load(path, 128256, [128009], size: 7));
    }

    [Fact]
    public void Load_rejects_ids_outside_the_vocabulary()
    {
        var e = Assert.Throws<FrSpecException>(() => FrequencySubset.Load(TorchFixtures.PathOf("freq_list_3000.pt"), 32000, []));
        Assert.Contains("freq_list_3000.pt", e.Message);
        Assert.Contains("32000", e.Message);
    }

    [Theory]
    [InlineData("tuple_ints.pt")]
    [InlineData("long_tensor.pt")]
    public void Load_accepts_sglang_token_maps(string file)
    {
        var s = FrequencySubset.Load(TorchFixtures.PathOf(file), 151936, [128009]);
        Assert.Contains(128009, s.Ids);
    }

    [Fact]
    public void Save_then_Load_round_trips_and_is_fr_py_format()
    {
        using var tmp = new TorchFixtures.TempDir();
        var rng = new Random(3);
        var counts = Enumerable.Range(0, 70000).Select(_ => (long)rng.Next(0, 1000)).ToArray();
        var s = FrequencySubset.FromCounts(counts, 3000, [69999]);
        TorchCheckpointWriter.WriteIntList(tmp.File("freq_3000.pt"), s.Ids);
        Assert.Equal(s.Ids, TorchCheckpoint.ReadIntList(tmp.File("freq_3000.pt")));
        Assert.Equal(s.Ids, FrequencySubset.Load(tmp.File("freq_3000.pt"), 70000, [69999], 3000).Ids);
    }
}
