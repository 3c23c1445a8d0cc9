using System.Text.Json;
using System.Text.Json.Serialization;

namespace FrSpec.Speculative.AutoTree;

/// <summary>
/// The counts of <see cref="AcceptanceStatistics"/> at one moment (decayed, as the statistics hold them), to start a
/// later session warm: kept in memory by the model (<see cref="AcceptanceMemory"/>) and written to one small JSON file
/// per model, drafter and draft vocabularies. <see cref="Key"/> names what the counts belong to; a file whose key,
/// dimensions or values do not fit is not used.
/// </summary>
internal sealed record AcceptanceSnapshot
{
    /// <summary>Largest file read: a snapshot of the largest bounds (16 variants × 33 depths × 16 ranks) is under 200 KB.</summary>
    public const long MaxFileBytes = 1 << 20;

    [JsonPropertyName("key")] public required string Key { get; init; }
    [JsonPropertyName("variants")] public required int Variants { get; init; }
    [JsonPropertyName("depths")] public required int Depths { get; init; }
    [JsonPropertyName("ranks")] public required int Ranks { get; init; }
    /// <summary>Rounds the statistics had observed (not decayed).</summary>
    [JsonPropertyName("rounds")] public required int Rounds { get; init; }
    [JsonPropertyName("emitted")] public required double Emitted { get; init; }
    /// <summary>[variant]: emitted tokens inside its vocabulary.</summary>
    [JsonPropertyName("in_vocab")] public required double[] InVocab { get; init; }
    /// <summary>[variant, depth].</summary>
    [JsonPropertyName("trials")] public required double[] Trials { get; init; }
    /// <summary>[variant, depth, rank].</summary>
    [JsonPropertyName("hits")] public required double[] Hits { get; init; }

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = false };

    public string ToJson() => JsonSerializer.Serialize(this, s_json);

    /// <summary>
    /// The snapshot in <paramref name="json"/> if it is complete and consistent with <paramref name="key"/> and the
    /// dimensions asked for; otherwise null and <paramref name="problem"/> says why.
    /// </summary>
    public static AcceptanceSnapshot? Parse(string json, string key, int variants, int depths, int ranks, out string? problem)
    {
        AcceptanceSnapshot? s;
        try { s = JsonSerializer.Deserialize<AcceptanceSnapshot>(json, s_json); }
        catch (JsonException e) { problem = $"not a snapshot ({e.Message.Split('\n')[0]})"; return null; }
        problem = s == null ? "empty" : s.Check(key, variants, depths, ranks);
        return problem == null ? s : null;
    }

    /// <summary>Null when the snapshot fits; else what is wrong.</summary>
    private string? Check(string key, int variants, int depths, int ranks)
    {
        if (Key != key) return "it belongs to other files (key differs)";
        if (Variants != variants || Depths != depths || Ranks != ranks)
            return $"dimensions {Variants}×{Depths}×{Ranks}, expected {variants}×{depths}×{ranks}";
        if (InVocab is not { } inVocab || inVocab.Length != variants) return "in_vocab has the wrong length";
        if (Trials is not { } trials || trials.Length != variants * depths) return "trials has the wrong length";
        if (Hits is not { } hits || hits.Length != variants * depths * ranks) return "hits has the wrong length";
        if (Rounds < 0 || !Count(Emitted)) return "negative or non-finite totals";
        foreach (double x in inVocab) if (!Count(x) || x > Emitted * (1 + 1e-9)) return "in_vocab out of range";
        for (int i = 0; i < trials.Length; i++)
        {
            if (!Count(trials[i])) return "negative or non-finite trials";
            double sum = 0;
            for (int r = 0; r < ranks; r++)
            {
                double h = hits[i * ranks + r];
                if (!Count(h)) return "negative or non-finite hits";
                sum += h;
            }
            // the hits of one (variant, depth) are exclusive outcomes of its trials
            if (sum > trials[i] * (1 + 1e-9) + 1e-9) return "more hits than trials";
        }
        return null;
    }

    private static bool Count(double x) => double.IsFinite(x) && x >= 0;
}
