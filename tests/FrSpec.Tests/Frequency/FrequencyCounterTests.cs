using FrSpec.Frequency;

namespace FrSpec.Tests.Frequency;

public class FrequencyCounterTests
{
    private static List<string> Corpus(int docs, int seed = 42)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, docs).Select(_ => FakeTokenizer.Document(rng, rng.Next(0, 400))).ToList();
    }

    /// <summary>Plain single-thread reference: encode each document and count.</summary>
    private static long[] Reference(FakeTokenizer tok, IEnumerable<string> docs, bool addSpecial)
    {
        var counts = new long[tok.VocabSize];
        foreach (var d in docs) foreach (var id in tok.Encode(d, addSpecial)) counts[id]++;
        return counts;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void Parallel_counts_equal_single_thread_reference(int threads)
    {
        var tok = new FakeTokenizer();
        var docs = Corpus(3000);
        var r = new FrequencyCounter(tok, new FrequencyCountOptions { Threads = threads }).Run(docs);
        Assert.Equal(Reference(tok, docs, true), r.Counts);
        Assert.Equal(3000, r.Documents);
        Assert.Equal(r.Counts.Sum(), r.Tokens);
        Assert.Equal(3000, r.Counts[1]); // one BOS per document with add_special_tokens
    }

    [Fact]
    public void Without_special_tokens_no_bos_is_counted()
    {
        var tok = new FakeTokenizer();
        var docs = Corpus(200);
        var r = new FrequencyCounter(tok, new FrequencyCountOptions { Threads = 2, AddSpecialTokens = false }).Run(docs);
        Assert.Equal(Reference(tok, docs, false), r.Counts);
        Assert.Equal(0, r.Counts[1]);
    }

    [Fact]
    public void Max_documents_counts_exactly_the_first_n()
    {
        var tok = new FakeTokenizer();
        var docs = Corpus(1000);
        var r = new FrequencyCounter(tok, new FrequencyCountOptions { Threads = 3, MaxDocuments = 777 }).Run(docs);
        Assert.Equal(Reference(tok, docs.Take(777), true), r.Counts);
        Assert.Equal(777, r.Documents);
    }

    [Fact]
    public void Max_tokens_stops_early()
    {
        var tok = new FakeTokenizer();
        var docs = Corpus(5000);
        long all = Reference(tok, docs, true).Sum();
        var r = new FrequencyCounter(tok, new FrequencyCountOptions { Threads = 2, MaxTokens = 10_000 }).Run(docs);
        Assert.True(r.Tokens >= 10_000 && r.Tokens < all, $"counted {r.Tokens} of {all}");
    }

    [Fact]
    public void Encode_only_mode_counts_nothing_but_reports_tokens()
    {
        var tok = new FakeTokenizer();
        var docs = Corpus(300);
        var r = new FrequencyCounter(tok, new FrequencyCountOptions { Threads = 2, Count = false }).Run(docs);
        Assert.All(r.Counts, c => Assert.Equal(0, c));
        Assert.Equal(Reference(tok, docs, true).Sum(), r.Tokens);
    }

    [Fact]
    public void Reader_errors_surface_as_FrSpecException()
    {
        static IEnumerable<string> Broken()
        {
            yield return "a b c";
            throw new FrSpecException("corpus.jsonl:2: invalid JSON");
        }
        var e = Assert.Throws<FrSpecException>(() => new FrequencyCounter(new FakeTokenizer(), new FrequencyCountOptions { Threads = 2 }).Run(Broken()));
        Assert.Contains("corpus.jsonl:2", e.Message);
    }
}
