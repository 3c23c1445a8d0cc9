using System.Text.Json;
using FrSpec.Text;

namespace FrSpec.Frequency;

/// <summary>One point of a coverage curve: the share of evaluation tokens whose id is in a subset of size V'.</summary>
public readonly record struct CoveragePoint(int Size, double Coverage);

/// <summary>
/// Coverage of FR-Spec subsets: for a ranking (from training counts) and evaluation counts (held-out corpus or
/// the target's own generations), the fraction of evaluation tokens that a V'-subset contains. That fraction
/// bounds how often the draft can propose the token the target wants.
/// </summary>
public static class SubsetCoverage
{
    /// <summary>Report sizes: 1024·√2^k up to the vocabulary, plus 8k/16k/32k/64k and the full vocabulary.</summary>
    public static int[] ReportSizes(int vocabSize)
    {
        var sizes = new SortedSet<int>();
        for (double v = 1024; v < vocabSize; v *= Math.Sqrt(2)) sizes.Add((int)Math.Round(v));
        foreach (var v in new[] { 8192, 16384, 32768, 65536 }) if (v < vocabSize) sizes.Add(v);
        sizes.Add(vocabSize);
        return sizes.ToArray();
    }

    /// <summary>Sizes for a smooth chart: log-spaced from 1024 to the vocabulary.</summary>
    public static int[] ChartSizes(int vocabSize, int points = 80)
    {
        var sizes = new SortedSet<int>();
        double lo = Math.Log(Math.Min(1024, vocabSize)), hi = Math.Log(vocabSize);
        for (int i = 0; i < points; i++) sizes.Add((int)Math.Round(Math.Exp(lo + (hi - lo) * i / (points - 1))));
        sizes.Add(vocabSize);
        return sizes.ToArray();
    }

    /// <summary>Coverage of one subset.</summary>
    public static double Coverage(IReadOnlyList<int> subsetIds, ReadOnlySpan<long> evalCounts)
    {
        long total = 0, hit = 0;
        foreach (var c in evalCounts) total += c;
        foreach (var id in subsetIds) if ((uint)id < (uint)evalCounts.Length) hit += evalCounts[id];
        return total == 0 ? 0 : hit / (double)total;
    }

    /// <summary>Coverage of the subsets <see cref="FrequencySubset.FromRanking"/> builds for each size.</summary>
    public static CoveragePoint[] Curve(IReadOnlyList<int> ranking, IReadOnlyCollection<int> requiredIds, long[] evalCounts, IEnumerable<int> sizes)
    {
        if (evalCounts.Length != ranking.Count)
            throw new FrSpecException($"evaluation counts cover {evalCounts.Length} ids but the ranking has {ranking.Count}: different tokenizers?");
        var result = new List<CoveragePoint>();
        foreach (var size in sizes)
        {
            int s = Math.Max(Math.Min(size, ranking.Count), requiredIds.Count);
            var subset = FrequencySubset.FromRanking(ranking, s, requiredIds);
            result.Add(new CoveragePoint(s, Coverage(subset.Ids, evalCounts)));
        }
        return result.ToArray();
    }

    /// <summary>
    /// Token counts of a generations file: JSON lines with an "ids" array (token ids as generated) or a "text"
    /// string (encoded without special tokens, since it is the target's output, not a document).
    /// </summary>
    public static long[] CountGenerations(string path, int vocabSize, ITokenizer? tokenizer)
    {
        var counts = new long[vocabSize];
        foreach (var (_, root, where) in Formats.JsonLines.Read(path, 1L << 32, "generations file"))
        {
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("ids", out var ids) && ids.ValueKind == JsonValueKind.Array)
            {
                foreach (var e in ids.EnumerateArray())
                {
                    if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int id) || id < 0 || id >= vocabSize)
                        throw new FrSpecException($"{where}: \"ids\" holds {Formats.JsonFields.Describe(e)}, not a token id below {vocabSize}");
                    counts[id]++;
                }
            }
            else if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            {
                if (tokenizer is null) throw new FrSpecException($"{where}: a \"text\" line needs --tokenizer or --model to be tokenized");
                foreach (var id in tokenizer.Encode(text.GetString()!, addSpecialTokens: false)) counts[id]++;
            }
            else throw new FrSpecException($"{where}: expected an object with an \"ids\" array or a \"text\" string");
        }
        return counts;
    }
}
