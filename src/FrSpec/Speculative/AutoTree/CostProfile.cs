using System.Text.Json;
using System.Text.Json.Serialization;

namespace FrSpec.Speculative.AutoTree;

/// <summary>
/// What speculation costs on this machine for one target, draft head and set of draft vocabularies, as measured by
/// <see cref="CostCalibration"/>: seconds of a target forward pass over T tree tokens, of the target's LM head over r
/// rows, of a draft step's layer over r rows and of each variant's draft LM head over r rows (log-softmax and top-k
/// included). Values between measured points are interpolated linearly, beyond them extrapolated from the last two.
/// </summary>
internal sealed record CostProfile
{
    [JsonPropertyName("tree_tokens")] public required int[] TreeTokens { get; init; }
    [JsonPropertyName("forward_seconds")] public required double[] ForwardSeconds { get; init; }
    [JsonPropertyName("head_rows")] public required int[] HeadRows { get; init; }
    [JsonPropertyName("head_seconds")] public required double[] HeadSeconds { get; init; }
    [JsonPropertyName("draft_rows")] public required int[] DraftRows { get; init; }
    [JsonPropertyName("draft_layer_seconds")] public required double[] DraftLayerSeconds { get; init; }
    [JsonPropertyName("variant_sizes")] public required int[] VariantSizes { get; init; }
    /// <summary>[variant][DraftRows index].</summary>
    [JsonPropertyName("draft_head_seconds")] public required double[][] DraftHeadSeconds { get; init; }
    [JsonPropertyName("calibration_seconds")] public double CalibrationSeconds { get; init; }
    /// <summary>What the profile was measured for (model files, machine, engine options), for people reading the cache.</summary>
    [JsonPropertyName("key")] public string? Key { get; init; }

    /// <summary>Target forward pass over <paramref name="tokens"/> tree tokens.</summary>
    public double Forward(double tokens) => Interpolate(TreeTokens, ForwardSeconds, tokens);

    /// <summary>Target LM head over <paramref name="rows"/> rows.</summary>
    public double TargetHead(double rows) => Interpolate(HeadRows, HeadSeconds, rows);

    /// <summary>Draft layer over <paramref name="rows"/> rows.</summary>
    public double DraftLayer(double rows) => Interpolate(DraftRows, DraftLayerSeconds, rows);

    /// <summary>Draft LM head of <paramref name="variant"/> over <paramref name="rows"/> rows.</summary>
    public double DraftHead(int variant, double rows) => Interpolate(DraftRows, DraftHeadSeconds[variant], rows);

    /// <summary>Seconds per token of plain decoding: one 1-token pass and one LM-head row.</summary>
    public double PlainSecondsPerToken => Forward(1) + TargetHead(1);

    private static double Interpolate(int[] xs, double[] ys, double x)
    {
        if (xs.Length == 1) return ys[0] * Math.Max(x, 0) / Math.Max(xs[0], 1);
        int i = 1;
        while (i < xs.Length - 1 && xs[i] < x) i++;
        double x0 = xs[i - 1], x1 = xs[i], y0 = ys[i - 1], y1 = ys[i];
        double y = y0 + (y1 - y0) * (x - x0) / (x1 - x0);
        return Math.Max(y, 0);
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a cached profile; null when the text is not a complete, consistent profile (the cache is then remeasured).</summary>
    public static CostProfile? FromJson(string json)
    {
        CostProfile? p;
        try { p = JsonSerializer.Deserialize<CostProfile>(json, Json); }
        catch (JsonException) { return null; }
        return p != null && p.IsConsistent() ? p : null;
    }

    private bool IsConsistent()
    {
        static bool Ok(int[]? xs, double[]? ys) => xs is { Length: > 0 } && ys != null && ys.Length == xs.Length
            && xs.Zip(xs.Skip(1)).All(p => p.First < p.Second) && ys.All(y => double.IsFinite(y) && y >= 0);
        return Ok(TreeTokens, ForwardSeconds) && Ok(HeadRows, HeadSeconds) && Ok(DraftRows, DraftLayerSeconds)
            && VariantSizes is { Length: > 0 } && DraftHeadSeconds != null && DraftHeadSeconds.Length == VariantSizes.Length
            && DraftHeadSeconds.All(v => Ok(DraftRows, v));
    }
}
