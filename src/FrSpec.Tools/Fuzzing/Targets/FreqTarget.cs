using System.Buffers.Binary;
using System.IO.Compression;
using FrSpec.Formats.Torch;
using FrSpec.Frequency;
using FrSpec.Fuzzing.Mutators;

namespace FrSpec.Fuzzing.Targets;

/// <summary>
/// Frequency files: an FR-Spec freq_N.pt (a pickled list of ids) and token counts files, plain and gzip, whose header
/// fields are set to boundary values with the checksum sometimes recomputed so that the checks behind it are reached.
/// </summary>
public sealed class FreqTarget : FuzzTarget
{
    private static readonly int[] Required = [FuzzSeeds.BosId, FuzzSeeds.EosId, FuzzSeeds.ImEndId];

    /// <summary>(offset, width) of the counts header fields: version, vocabulary, total, documents, flags, name length.</summary>
    private static readonly (int Offset, int Width, string Name)[] CountsFields =
        [(8, 4, "version"), (12, 4, "vocab"), (16, 8, "total"), (24, 8, "documents"), (32, 1, "flags"), (65, 2, "name length")];

    public override string Name => "freq";
    public override string Description => "freq_N.pt id lists and token counts files (.bin, .bin.gz): subset building, ranking";

    public override void WriteSeed(string dir)
    {
        var ids = Enumerable.Range(0, 64).Select(i => (i * 37) % FuzzSeeds.VocabSize).Append(FuzzSeeds.BosId).Append(5).ToArray();
        TorchCheckpointWriter.WriteIntList(Path.Combine(dir, "freq_64.pt"), ids);
        var counts = new long[FuzzSeeds.VocabSize];
        for (int i = 0; i < counts.Length; i++) counts[i] = (i * 7919) % 1000;
        var c = new TokenCounts(counts, 42, new byte[32], "fuzz/tokenizer.json", addSpecialTokens: true);
        c.Save(Path.Combine(dir, "counts.bin"));
        c.Save(Path.Combine(dir, "counts.bin.gz"));
    }

    public override FuzzCase Mutate(IReadOnlyDictionary<string, byte[]> seed, Random rng) => rng.Next(3) switch
    {
        0 => One("freq_64.pt", TorchMutator.Mutate(seed["freq_64.pt"], rng)),
        1 => One("counts.bin", MutateCounts(seed["counts.bin"], rng)),
        _ => rng.Next(2) == 0
            ? One("counts.bin.gz", BinaryMutator.Mutate(seed["counts.bin.gz"], rng))
            : One("counts.bin.gz", Gzip(MutateCounts(seed["counts.bin"], rng))),
    };

    private static (byte[], string) Gzip((byte[] Bytes, string What) m)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(m.Bytes);
        return (ms.ToArray(), "recompressed, " + m.What);
    }

    private static (byte[] Bytes, string What) MutateCounts(byte[] counts, Random rng)
    {
        byte[] b;
        string what;
        if (rng.Next(3) == 0) (b, what) = BinaryMutator.Mutate(counts, rng);
        else
        {
            var (offset, width, name) = CountsFields[rng.Next(CountsFields.Length)];
            ulong v = rng.Next(2) == 0 ? BinaryMutator.Boundary[rng.Next(BinaryMutator.Boundary.Length)] : (ulong)rng.Next(0, 400);
            b = BinaryMutator.Patch(counts, offset, width, v);
            what = $"{name} set to {v}";
        }
        if (b.Length >= 4 && rng.Next(2) == 0)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(b.Length - 4), Crc32.Compute(b.AsSpan(0, b.Length - 4)));
            what += " (checksum recomputed)";
        }
        return (b, what);
    }

    public override void Exercise(string dir)
    {
        var subset = FrequencySubset.Load(Path.Combine(dir, "freq_64.pt"), FuzzSeeds.VocabSize, Required);
        FrequencySubset.Load(Path.Combine(dir, "freq_64.pt"), FuzzSeeds.VocabSize, Required, Math.Min(16, subset.Count));
        foreach (var file in new[] { "counts.bin", "counts.bin.gz" })
        {
            var counts = TokenCounts.Load(Path.Combine(dir, file));
            if (counts.VocabSize < Required.Max() + 1) continue;
            var ranking = counts.Ranking();
            FrequencySubset.FromRanking(ranking, Math.Min(32, counts.VocabSize), Required);
        }
    }
}
