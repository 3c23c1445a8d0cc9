using FrSpec.Formats.Corpus;
using FrSpec.Frequency;
using FrSpec.Tests.Formats;
using FrSpec.Sessions;
using FrSpec.Text;

namespace FrSpec.Tests.Frequency;

/// <summary>Counting and subset rules with the real Llama-3 / Qwen3 tokenizers (npm test assets).</summary>
public class RealTokenizerCountingTests
{
    private static readonly string[] Docs =
    [
        "The quick brown fox jumps over the lazy dog.",
        "def add(a, b):\n    return a + b\n",
        "Paris is the capital of France. <|eot_id|>",
        "Ünïcödé, 中文 and emoji 🙂 are tokenized as bytes.",
        "",
        "1234567 + 89 = 1234656",
    ];

    [Theory]
    [InlineData("llama3")]
    [InlineData("qwen3")]
    public void Counts_match_single_thread_reference(string name)
    {
        var tok = TokenizerLoader.Load(TestAssets.TokenizerJson(name));
        var docs = Enumerable.Range(0, 40).SelectMany(_ => Docs).Where(d => d.Length > 0).ToList();
        var reference = new long[tok.VocabSize];
        foreach (var d in docs) foreach (var id in tok.Encode(d, addSpecialTokens: true)) reference[id]++;
        var r = new FrequencyCounter(tok, new FrequencyCountOptions { Threads = 3 }).Run(docs);
        Assert.Equal(reference, r.Counts);
        Assert.Equal(docs.Count, r.Documents);
    }

    [Fact]
    public void Llama3_required_ids_include_eot_and_eos()
    {
        var ids = ModelVocabulary.Load(TestAssets.TokenizerDir("llama3")).ControlIds;
        Assert.Contains(128009, ids); // <|eot_id|>
        Assert.Contains(128001, ids); // <|end_of_text|>
        Assert.Contains(128006, ids); // <|start_header_id|>
    }

    [Fact]
    public void Qwen3_required_ids_include_im_start_and_im_end()
    {
        var vocabulary = ModelVocabulary.Load(TestAssets.TokenizerDir("qwen3"));
        var tok = vocabulary.Tokenizer!;
        var ids = vocabulary.ControlIds;
        Assert.Contains(tok.TokenToId("<|im_start|>")!.Value, ids);
        Assert.Contains(tok.TokenToId("<|im_end|>")!.Value, ids);
        // only special tokens the template writes count: <think> is an ordinary added token of Qwen3's vocabulary
        Assert.DoesNotContain(tok.TokenToId("<think>")!.Value, ids);
        Assert.DoesNotContain(tok.TokenToId("</s>") ?? -1, ids); // an ordinary BPE token in Qwen's vocabulary
    }

    [Fact]
    public void Freq_cli_writes_counts_and_subsets_end_to_end()
    {
        using var tmp = new TorchFixtures.TempDir();
        File.WriteAllLines(tmp.File("c.jsonl"), Enumerable.Range(0, 30).Select(i =>
            System.Text.Json.JsonSerializer.Serialize(new { text = Docs[i % Docs.Length] + $" number {i}" })));
        int rc = FrSpec.Cli.Program.BuildRoot().Parse(
            ["freq", "--tokenizer", TestAssets.TokenizerJson("llama3"), "--out", tmp.File("out"), "--sizes", "64,128", "--threads", "2", tmp.File("c.jsonl")]).Invoke();
        Assert.Equal(0, rc);
        var counts = TokenCounts.Load(tmp.File("out/counts.bin.gz"));
        Assert.Equal(30, counts.Documents);
        var tok = TokenizerLoader.Load(TestAssets.TokenizerJson("llama3"));
        // add_special_tokens=True as fr.py: whatever the tokenizer's post-processor adds is counted once per document.
        Assert.Equal(30L * tok.Encode("x", true).Count(id => id == 128000), counts.Counts[128000]);
        var required = ModelVocabulary.Load(TestAssets.TokenizerDir("llama3")).ControlIds;
        var s64 = FrequencySubset.Load(tmp.File("out/freq_64.pt"), tok.VocabSize, required);
        Assert.Equal(64, s64.Count);
        Assert.Equal(FrequencySubset.FromCounts(counts.Counts, 64, required).Ids, s64.Ids);
        Assert.All(required, id => Assert.Contains(id, s64.Ids));
    }
}
