using System.IO.Compression;
using System.Text;
using FrSpec.Formats.Corpus;
using FrSpec.Fuzzing.Mutators;
using FrSpec.Text;
using Parquet;
using Parquet.Schema;

namespace FrSpec.Fuzzing.Targets;

/// <summary>
/// A corpus file in one format (txt, jsonl, jsonl.zst, jsonl.gz, parquet): mutated as text (invalid UTF-8, NUL bytes,
/// broken JSON lines), as a compressed stream (damaged frames, decompression bombs) or as a parquet file (footer and
/// pages). Every document is read and the first ones are tokenized, as `freq` does.
/// </summary>
public sealed class CorpusTarget(string format) : FuzzTarget
{
    private readonly string _file = "corpus." + format;
    private static readonly JsonMutator Line = new(new Dictionary<string, System.Text.Json.Nodes.JsonNode?[]> { ["text"] = [null, 5, "", new System.Text.Json.Nodes.JsonArray("a")] });
    private static readonly Lazy<byte[]> Bomb = new(() => Encoding.ASCII.GetBytes(new string('a', 64 << 20)));
    private ITokenizer? _tokenizer;
    private byte[]? _bomb;

    public override string Name => "corpus-" + format.Replace("jsonl.", "");
    public override string Description => $"{_file}: read every document, tokenize the first ones";

    /// <summary>Room for the longest line a corpus reader accepts, besides the usual bound.</summary>
    public override long AllocationBound(long inputBytes) => base.AllocationBound(inputBytes) + 4L * CorpusReader.MaxLineChars * sizeof(char);

    public override void WriteSeed(string dir)
    {
        string path = Path.Combine(dir, _file);
        switch (format)
        {
            case "txt": File.WriteAllText(path, FuzzSeeds.CorpusText()); break;
            case "jsonl": File.WriteAllText(path, FuzzSeeds.CorpusJsonLines()); break;
            case "jsonl.zst": File.WriteAllBytes(path, Zstd(Encoding.UTF8.GetBytes(FuzzSeeds.CorpusJsonLines()))); break;
            case "jsonl.gz": File.WriteAllBytes(path, Gzip(Encoding.UTF8.GetBytes(FuzzSeeds.CorpusJsonLines()))); break;
            case "parquet": WriteParquet(path); break;
            default: throw new ArgumentException($"unknown corpus format {format}");
        }
    }

    private static void WriteParquet(string path) => WriteParquetAsync(path).GetAwaiter().GetResult();

    private static async Task WriteParquetAsync(string path)
    {
        var schema = new ParquetSchema(new DataField<int>("id"), new DataField<string>("text"));
        using var fs = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(schema, fs);
        for (int g = 0; g < 2; g++)
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<int>((DataField)schema[0], Enumerable.Range(0, FuzzSeeds.Documents.Length).ToArray());
            await group.WriteAsync((DataField)schema[1], FuzzSeeds.Documents);
        }
    }

    private static byte[] Zstd(byte[] data)
    {
        using var c = new ZstdSharp.Compressor(3);
        return c.Wrap(data).ToArray();
    }

    private static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(data);
        return ms.ToArray();
    }

    private byte[] Compress(byte[] plain) => format.EndsWith(".zst", StringComparison.Ordinal) ? Zstd(plain) : Gzip(plain);

    public override FuzzCase Mutate(IReadOnlyDictionary<string, byte[]> seed, Random rng)
    {
        var bytes = seed[_file];
        switch (format)
        {
            case "txt":
                return rng.Next(2) == 0 ? One(_file, BinaryMutator.Mutate(bytes, rng)) : One(_file, TextDamage(bytes, rng));
            case "jsonl":
                return One(_file, MutateLines(bytes, rng));
            case "parquet":
            {
                // The footer (schema, row groups, column chunks) is the structure: most mutations go there.
                int footer = Math.Max(0, bytes.Length - 512);
                var m = rng.Next(3) == 0 ? BinaryMutator.Mutate(bytes, rng) : BinaryMutator.Mutate(bytes, rng, footer, bytes.Length);
                return One(_file, m);
            }
            default:
            {
                int pick = rng.Next(20);
                if (pick == 0)
                    return One(_file, (_bomb ??= Compress(Bomb.Value), "decompression bomb: 64 MiB without a line break"));
                if (pick == 1)
                    return One(_file, (Compress([.. Encoding.ASCII.GetBytes("{\"text\": \""), .. Bomb.Value.AsSpan(0, 8 << 20), .. "\"}\n"u8]), "one JSON line of 8 MiB"));
                if (pick < 9) return One(_file, BinaryMutator.Mutate(bytes, rng));
                var plain = Encoding.UTF8.GetBytes(FuzzSeeds.CorpusJsonLines());
                var (mutated, what) = MutateLines(plain, rng);
                return One(_file, (Compress(mutated), "recompressed, " + what));
            }
        }
    }

    private static (byte[], string) MutateLines(byte[] bytes, Random rng)
    {
        var lines = Encoding.UTF8.GetString(bytes).Split('\n').ToList();
        int i = rng.Next(lines.Count);
        switch (rng.Next(5))
        {
            case 0: return TextDamage(bytes, rng);
            case 1: lines.RemoveAt(i); return (Join(lines), $"line {i + 1} removed");
            default:
                var (line, what) = Line.Mutate(Encoding.UTF8.GetBytes(lines[i]), rng);
                var result = Join(lines.Take(i)).Concat(i > 0 ? "\n"u8.ToArray() : []).Concat(line).Concat(i < lines.Count - 1 ? "\n"u8.ToArray() : []).Concat(Join(lines.Skip(i + 1))).ToArray();
                return (result, $"line {i + 1}: {what}");
        }
    }

    private static byte[] Join(IEnumerable<string> lines) => Encoding.UTF8.GetBytes(string.Join("\n", lines));

    private static (byte[], string) TextDamage(byte[] bytes, Random rng)
    {
        var what = new List<string>();
        return (JsonMutator.DamageText(bytes, rng, what), string.Join("; ", what));
    }

    public override void Exercise(string dir)
    {
        _tokenizer ??= LoadTokenizer();
        int n = 0;
        foreach (var doc in new CorpusReader([Path.Combine(dir, _file)]).Documents())
        {
            // Tokenizing long words costs memory of its own (the tokenizer target covers it): the first 4,096 characters do.
            if (n++ < 100) _tokenizer.Encode(doc.Length <= 4096 ? doc : doc[..4096], addSpecialTokens: true);
            if (n > 1_000_000) break;   // a bomb of short lines is legitimate streaming: enough of it
        }
    }

    private static ITokenizer LoadTokenizer()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"frspec-fuzz-tok-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try { return TokenizerLoader.Load(FuzzSeeds.WriteTokenizer(dir)); }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
