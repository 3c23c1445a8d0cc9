using System.IO.Compression;
using System.Text;
using FrSpec.Formats.Corpus;
using FrSpec.Tests.Formats;
using Parquet;
using Parquet.Schema;

namespace FrSpec.Tests.Frequency;

public class CorpusReaderTests
{
    private static readonly string[] Docs = ["first doc", "second \"quoted\" doc\nwith a newline", "ünïcödé ✓ 中文"];

    private static string JsonLines() =>
        string.Concat(Docs.Select((d, i) => System.Text.Json.JsonSerializer.Serialize(new { text = d, id = i }) + "\n")) + "\n";

    [Fact]
    public void Reads_jsonl_plain_zst_and_gz()
    {
        using var tmp = new TorchFixtures.TempDir();
        var bytes = Encoding.UTF8.GetBytes(JsonLines());
        File.WriteAllBytes(tmp.File("a.jsonl"), bytes);
        using (var fs = File.Create(tmp.File("a.jsonl.zst")))
        using (var z = new ZstdSharp.CompressionStream(fs, 3))
            z.Write(bytes);
        using (var fs = File.Create(tmp.File("a.jsonl.gz")))
        using (var g = new GZipStream(fs, CompressionLevel.Fastest))
            g.Write(bytes);
        foreach (var name in new[] { "a.jsonl", "a.jsonl.zst", "a.jsonl.gz" })
        {
            var reader = new CorpusReader([tmp.File(name)]);
            Assert.Equal(Docs, reader.Documents().ToArray());
            Assert.Equal(reader.TotalBytes, reader.BytesRead);
        }
    }

    [Fact]
    public void Reads_txt_one_document_per_non_empty_line()
    {
        using var tmp = new TorchFixtures.TempDir();
        File.WriteAllText(tmp.File("a.txt"), "line one\n\nline two\r\nline three");
        Assert.Equal(["line one", "line two", "line three"], new CorpusReader([tmp.File("a.txt")]).Documents().ToArray());
    }

    [Fact]
    public async Task Reads_parquet_text_column()
    {
        using var tmp = new TorchFixtures.TempDir();
        var schema = new ParquetSchema(new DataField<string>("content"), new DataField<int>("n"));
        using (var fs = File.Create(tmp.File("a.parquet")))
        {
            await using var w = await ParquetWriter.CreateAsync(schema, fs);
            for (int g = 0; g < 2; g++)
            {
                using var rg = w.CreateRowGroup();
                await rg.WriteAsync((DataField)schema[0], g == 0 ? Docs[..2] : Docs[2..]);
                await rg.WriteAsync<int>((DataField)schema[1], g == 0 ? new[] { 1, 2 } : new[] { 3 });
            }
        }
        Assert.Equal(Docs, new CorpusReader([tmp.File("a.parquet")], "content").Documents().ToArray());
        var e = Assert.Throws<FrSpecException>(() => new CorpusReader([tmp.File("a.parquet")]).Documents().ToArray());
        Assert.Contains("content", e.Message); // lists the columns
    }

    [Fact]
    public void Bad_lines_name_file_and_line()
    {
        using var tmp = new TorchFixtures.TempDir();
        File.WriteAllText(tmp.File("b.jsonl"), "{\"text\": \"ok\"}\n{\"body\": \"no text\"}\n");
        var e = Assert.Throws<FrSpecException>(() => new CorpusReader([tmp.File("b.jsonl")]).Documents().ToArray());
        Assert.Contains("b.jsonl:2", e.Message);
        File.WriteAllText(tmp.File("c.jsonl"), "{\"text\": \"ok\"}\n{not json\n");
        Assert.Contains("c.jsonl:2", Assert.Throws<FrSpecException>(() => new CorpusReader([tmp.File("c.jsonl")]).Documents().ToArray()).Message);
        Assert.Throws<FrSpecException>(() => new CorpusReader([tmp.File("missing.jsonl")]));
        File.WriteAllText(tmp.File("x.csv"), "a,b");
        Assert.Contains("unknown corpus format", Assert.Throws<FrSpecException>(() => new CorpusReader([tmp.File("x.csv")])).Message);
    }

    [Fact]
    public void Corrupt_zst_is_reported_with_file_name()
    {
        using var tmp = new TorchFixtures.TempDir();
        File.WriteAllBytes(tmp.File("bad.jsonl.zst"), [0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4, 5, 6, 7, 8]);
        var e = Assert.Throws<FrSpecException>(() => new CorpusReader([tmp.File("bad.jsonl.zst")]).Documents().ToArray());
        Assert.Contains("bad.jsonl.zst", e.Message);
    }
}
