using System.Text.Json;
using System.Text.Json.Serialization;

namespace FrSpec.Speculative.AutoTree;

/// <summary>
/// What speculation costs on this machine, as <see cref="CostCalibration"/> measures it: the target's side
/// (<see cref="TargetCosts"/>, shared by every drafter of a model) and a drafter's side (<see cref="DraftCosts"/>).
/// Values between measured points are interpolated linearly, beyond them extrapolated from the last two.
/// </summary>
internal sealed record CostProfile(TargetCosts Target, DraftCosts Draft)
{
    /// <summary>Target forward pass over <paramref name="tokens"/> tree tokens.</summary>
    public double Forward(double tokens) => Interpolate(Target.TreeTokens, Target.ForwardSeconds, tokens);

    /// <summary>Target LM head over <paramref name="rows"/> rows.</summary>
    public double TargetHead(double rows) => Interpolate(Target.HeadRows, Target.HeadSeconds, rows);

    /// <summary>Draft layer over <paramref name="rows"/> rows.</summary>
    public double DraftLayer(double rows) => Interpolate(Draft.DraftRows, Draft.DraftLayerSeconds, rows);

    /// <summary>Draft LM head of <paramref name="variant"/> over <paramref name="rows"/> rows (log-softmax and top-k included).</summary>
    public double DraftHead(int variant, double rows) => Interpolate(Draft.DraftRows, Draft.DraftHeadSeconds[variant], rows);

    /// <summary>Seconds per token of plain decoding: one 1-token pass and one LM-head row.</summary>
    public double PlainSecondsPerToken => Forward(1) + TargetHead(1);

    private static double Interpolate(int[] xs, double[] ys, double x)
    {
        if (xs.Length == 1) return ys[0] * Math.Max(x, 0) / Math.Max(xs[0], 1);
        int i = 1;
        while (i < xs.Length - 1 && xs[i] < x) i++;
        double x0 = xs[i - 1], x1 = xs[i], y0 = ys[i - 1], y1 = ys[i];
        return Math.Max(y0 + (y1 - y0) * (x - x0) / (x1 - x0), 0);
    }

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Increasing sizes with one finite, non-negative time each.</summary>
    internal static bool Valid(int[]? xs, double[]? ys) => xs is { Length: > 0 } && ys != null && ys.Length == xs.Length
        && xs.Zip(xs.Skip(1)).All(p => p.First < p.Second) && ys.All(y => double.IsFinite(y) && y >= 0);
}

/// <summary>Measured costs that a <see cref="CostProfileStore"/> keeps in a file, identified by <see cref="Key"/>.</summary>
internal interface ICachedCosts
{
    /// <summary>What the costs were measured for (model files, machine, engine options), for people reading the cache.</summary>
    string? Key { get; }

    /// <summary>Whether a record read back from a file is complete and consistent.</summary>
    bool IsValid();
}

/// <summary>The target's side: seconds of a forward pass over T tree tokens, and of the LM head over r rows.</summary>
internal sealed record TargetCosts : ICachedCosts
{
    [JsonPropertyName("tree_tokens")] public required int[] TreeTokens { get; init; }
    [JsonPropertyName("forward_seconds")] public required double[] ForwardSeconds { get; init; }
    [JsonPropertyName("head_rows")] public required int[] HeadRows { get; init; }
    [JsonPropertyName("head_seconds")] public required double[] HeadSeconds { get; init; }
    [JsonPropertyName("calibration_seconds")] public double CalibrationSeconds { get; init; }
    [JsonPropertyName("key")] public string? Key { get; init; }

    public bool IsValid() => CostProfile.Valid(TreeTokens, ForwardSeconds) && CostProfile.Valid(HeadRows, HeadSeconds);
}

/// <summary>A drafter's side: seconds of a draft step's layer over r rows and of each variant's LM head over r rows.</summary>
internal sealed record DraftCosts : ICachedCosts
{
    [JsonPropertyName("draft_rows")] public required int[] DraftRows { get; init; }
    [JsonPropertyName("draft_layer_seconds")] public required double[] DraftLayerSeconds { get; init; }
    [JsonPropertyName("variant_sizes")] public required int[] VariantSizes { get; init; }
    /// <summary>[variant][DraftRows index].</summary>
    [JsonPropertyName("draft_head_seconds")] public required double[][] DraftHeadSeconds { get; init; }
    [JsonPropertyName("calibration_seconds")] public double CalibrationSeconds { get; init; }
    [JsonPropertyName("key")] public string? Key { get; init; }

    public bool IsValid() => CostProfile.Valid(DraftRows, DraftLayerSeconds) && VariantSizes is { Length: > 0 } && DraftHeadSeconds != null
        && DraftHeadSeconds.Length == VariantSizes.Length && DraftHeadSeconds.All(v => CostProfile.Valid(DraftRows, v));
}
