using FrSpec.Frequency;
using FrSpec.Tests.Formats;

namespace FrSpec.Tests.Frequency;

public class FreqReportCliTests
{
    [Fact]
    public void Report_from_counts_files_writes_table_csv_and_png()
    {
        using var tmp = new TorchFixtures.TempDir();
        const int vocab = 50_000;
        var rng = new Random(5);
        long[] Zipf(int n)
        {
            var c = new long[vocab];
            for (int i = 0; i < n; i++) c[(int)(Math.Pow(rng.NextDouble(), 4) * vocab)]++;
            return c;
        }
        new TokenCounts(Zipf(400_000), 100, null, "fake").Save(tmp.File("train.bin.gz"));
        new TokenCounts(Zipf(50_000), 10, null, "fake").Save(tmp.File("held.bin"));
        File.WriteAllLines(tmp.File("gen.jsonl"), Enumerable.Range(0, 50).Select(i => $"{{\"ids\": [{i}, {i * 7}, 3, 3]}}"));
        string outDir = tmp.File("report");
        int rc = FrSpec.Cli.Program.BuildRoot().Parse(
            ["freq", "report", "--counts", tmp.File("train.bin.gz"), "--heldout", tmp.File("held.bin"), "--generations", tmp.File("gen.jsonl"), "--out", outDir]).Invoke();
        Assert.Equal(0, rc);
        string md = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains("| 8,192 |", md);
        Assert.Contains("| 50,000 | 100.00% | 100.00% | 100.00% |", md);
        var png = File.ReadAllBytes(Path.Combine(outDir, "coverage.png"));
        Assert.True(png.Length > 10_000);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        if (Environment.GetEnvironmentVariable("FRSPEC_KEEP_CHART") is string keep) File.Copy(Path.Combine(outDir, "coverage.png"), keep, true);
    }
}
