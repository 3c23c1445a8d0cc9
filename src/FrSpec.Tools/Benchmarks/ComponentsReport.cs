using System.Text.Json;
using System.Text.Json.Nodes;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Numerics.CodeGen;

namespace FrSpec.Benchmarks;

/// <summary>
/// What `frspec bench components` measured in one run, with the figures derived from it: decode against the read
/// bandwidth, verification against decode (all-logits and as the verifier runs it), the layers' matrix products
/// against the peak of the instruction they use, each drafter's draft step (full LM head and FR-Spec subsets) against
/// decode, prompt lookup's search, and prefill throughput. Printed as text or as one JSON object (`--json`).
/// </summary>
public sealed class ComponentsReport
{
    /// <summary>One drafter's draft steps, one per LM-head variant (the full head first).</summary>
    public sealed record DrafterSteps(string Title, int Rows, IReadOnlyList<DraftStepTiming> Steps);

    public required Transformer Target { get; init; }
    public required int Context { get; init; }
    public required int Repeats { get; init; }
    public required MachineLimits Machine { get; init; }
    public required IReadOnlyList<VerifyTiming> Verify { get; init; }
    public required IReadOnlyList<DrafterSteps> Drafters { get; init; }
    /// <summary>Prompt lookup's n-gram search over the context (no match: the worst case), when timed.</summary>
    public double? LookupSearchMs { get; init; }
    public PrefillTiming? Prefill { get; init; }

    private VerifyTiming Decode => Verify.First(v => v.TreeTokens == 1);
    private long WeightBytes => Target.WeightBytesPerToken();

    /// <summary>Decode's share of the read bandwidth paired round by round (<see cref="PairedMeasurement"/>): the median over
    /// repetitions of the decode step's GB/s over the mean of the read passes right before and after it, and the median of
    /// those means; null without read passes.</summary>
    internal (double Share, double ReadGBs, int Rounds)? PairedDecode
    {
        get
        {
            var d = Decode;
            if (d.SamplesMs is not { Count: > 0 } samples || d.ReadBeforeGBs == null || d.ReadAfterGBs == null) return null;
            var rates = samples.Select(ms => WeightBytes / (ms / 1000) / 1e9).ToArray();
            var means = d.ReadBeforeGBs.Zip(d.ReadAfterGBs, (b, a) => (b + a) / 2).ToArray();
            return (PairedMeasurement.Median(PairedMeasurement.Shares(rates, d.ReadBeforeGBs, d.ReadAfterGBs)), PairedMeasurement.Median(means), samples.Count);
        }
    }

    /// <summary>Median over repetitions of verifying T tokens over the same repetition's T = 1 (all logits, and as the verifier).</summary>
    private (double? All, double? Verifier) PairedRatios(VerifyTiming v) =>
        (PairedMeasurement.MedianRatio(v.SamplesMs, Decode.SamplesMs), PairedMeasurement.MedianRatio(v.VerifierSamplesMs, Decode.VerifierSamplesMs));

    /// <summary>Weights the layers' matrix products multiply (all layers, no LM head).</summary>
    private double LayerParameters => Target.Layers.Sum(l => (double)l.QProj.Rows * l.QProj.Cols + (double)l.KProj.Rows * l.KProj.Cols
        + (double)l.VProj.Rows * l.VProj.Cols + (double)l.OProj.Rows * l.OProj.Cols + (double)l.GateProj.Rows * l.GateProj.Cols
        + (double)l.UpProj.Rows * l.UpProj.Cols + (double)l.DownProj.Rows * l.DownProj.Cols);

    /// <summary>The instruction the products run on, and its measured peak (GFLOP/s).</summary>
    private (string Instruction, double? Peak) ProductPeak
    {
        get
        {
            var c = Target.Compute;
            string instruction = ProductInstruction(c.Precision, Target.Layers[0].QProj.Type, c.Generated?.Bf16 != null, c.Generated?.Int8 != null);
            return instruction switch
            {
                "vdpbf16ps" => (instruction, Machine.Bf16DotGflops),
                "vpdpbusd" => (instruction, Machine.Int8DotGops),
                _ => (instruction, Machine.Fp32FmaGflops ?? Machine.ManagedFp32FmaGflops),
            };
        }
    }

    /// <summary>The instruction a layer product of <paramref name="weights"/> runs on: the fast mode multiplies bf16 weights
    /// by bf16 activations and quantized weights by int8 activations, on generated code when it exists; all else is fp32 FMA.</summary>
    internal static string ProductInstruction(Precision precision, DType weights, bool generatedBf16, bool generatedInt8) =>
        precision != Precision.Fast ? "fp32 FMA"
        : weights == DType.BF16 && generatedBf16 ? "vdpbf16ps"
        : DTypeInfo.IsQuantized(weights) && generatedInt8 && Int8DotKernels.Supports(weights) ? "vpdpbusd"
        : "fp32 FMA";

    private string Layout => Target.Layers[0].QProj.Layout switch
    {
        WeightLayout.Bf16Panels => "bf16 panels",
        WeightLayout.QuantizedGroups => "interleaved groups of 16 rows",
        _ => "row-major",
    };

    public JsonObject ToJson()
    {
        var (instruction, peak) = ProductPeak;
        double decodeMs = Decode.Ms, layerParams = LayerParameters;
        double gbs = WeightBytes / (decodeMs / 1000) / 1e9;
        var m = Machine;
        var root = new JsonObject
        {
            ["model"] = Target.Directory,
            ["weights"] = Target.Layers[0].QProj.Type.ToString(),
            ["layout"] = Layout,
            ["precision"] = Target.Compute.Precision.ToString().ToLowerInvariant(),
            ["kernels"] = Target.Compute.KernelPath,
            ["threads"] = Target.Compute.Pool.Threads,
            ["context"] = Context,
            ["repeats"] = Repeats,
            ["machine"] = m.ToJson(),
            ["decode"] = new JsonObject
            {
                ["ms"] = R(decodeMs), ["tokensPerSecond"] = R(1000 / decodeMs), ["weightBytes"] = WeightBytes, ["GBs"] = R(gbs),
                ["shareOfBandwidthMedian"] = R(gbs / m.HugePagesMedianGBs), ["shareOfBandwidthBest"] = R(gbs / m.HugePagesBestGBs),
                ["shareOfBandwidthPaired"] = R(PairedDecode?.Share), ["pairedReadGBs"] = R(PairedDecode?.ReadGBs), ["pairedRounds"] = PairedDecode?.Rounds,
            },
            ["productInstruction"] = instruction,
        };
        var verify = new JsonArray();
        foreach (var v in Verify)
        {
            double gflops = 2 * layerParams * v.TreeTokens / (v.ProjectionMs / 1000) / 1e9;
            double headGflops = 2.0 * v.TreeTokens * Target.Head.Weight.Rows * Target.Head.Weight.Cols / (v.HeadMs / 1000) / 1e9;
            var (paired, verifierPaired) = PairedRatios(v);
            verify.Add(new JsonObject
            {
                ["tokens"] = v.TreeTokens,
                ["ms"] = R(v.Ms), ["ratioToDecode"] = R(v.Ms / decodeMs), ["ratioToDecodePaired"] = R(paired),
                ["verifierMs"] = R(v.VerifierMs), ["verifierRatioToDecode"] = R(v.VerifierMs / Decode.VerifierMs),
                ["verifierRatioToDecodePaired"] = R(verifierPaired), ["chainRows"] = v.ChainRows,
                ["forwardMs"] = R(v.ForwardMs), ["headMs"] = R(v.HeadMs), ["chainHeadMs"] = R(v.ChainHeadMs),
                ["projectionMs"] = R(v.ProjectionMs), ["projectionGflops"] = R(gflops), ["projectionShareOfPeak"] = R(gflops / peak),
                ["headGflops"] = R(headGflops), ["headShareOfPeak"] = R(headGflops / peak),
                ["phasesMs"] = Phases(v.Phases),
            });
        }
        root["verify"] = verify;
        var drafters = new JsonArray();
        foreach (var d in Drafters)
        {
            var steps = new JsonArray();
            foreach (var s in d.Steps)
            {
                var step = new JsonObject
                {
                    ["label"] = s.Label, ["vocabRows"] = s.VocabRows, ["rows"] = d.Rows,
                    ["layerMs"] = R(s.LayerMs), ["headMs"] = R(s.HeadMs), ["headProductMs"] = R(s.HeadProductMs), ["totalMs"] = R(s.TotalMs), ["ratioToDecode"] = R(s.TotalMs / decodeMs),
                    ["ratioToDecodePaired"] = R(PairedMeasurement.MedianRatio(s.SamplesMs, s.DecodeSamplesMs)),
                };
                if (s.LayerPhases != null) step["layerPhasesMs"] = Phases(s.LayerPhases);
                steps.Add(step);
            }
            drafters.Add(new JsonObject { ["drafter"] = d.Title, ["rows"] = d.Rows, ["steps"] = steps });
        }
        root["drafters"] = drafters;
        if (LookupSearchMs is double lookup) root["lookupSearchMs"] = R(lookup);
        if (Prefill is { } p)
        {
            double projMs = p.Phases.Where(x => x.Key.Contains("Projection", StringComparison.Ordinal)).Sum(x => x.Value);
            double gflops = 2 * layerParams * p.Tokens / (projMs / 1000) / 1e9;
            root["prefill"] = new JsonObject
            {
                ["tokens"] = p.Tokens, ["chunk"] = p.Chunk, ["seconds"] = R(p.Seconds), ["tokensPerSecond"] = R(p.TokensPerSecond),
                ["projectionGflops"] = R(gflops), ["projectionShareOfPeak"] = R(gflops / peak), ["phasesMs"] = Phases(p.Phases),
            };
        }
        return root;
    }

    public string ToJsonText() => ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    public void Print(TextWriter o)
    {
        var (instruction, peak) = ProductPeak;
        var m = Machine;
        double decodeMs = Decode.Ms, gbs = WeightBytes / (decodeMs / 1000) / 1e9, layerParams = LayerParameters;
        o.WriteLine($"target {Target.Directory}: {Target.Layers[0].QProj.Type} ({Layout}), {Target.Compute.KernelPath}, {Target.Compute.Pool.Threads} threads");
        o.WriteLine($"context {Context}, {Repeats} repetitions (medians)");
        o.WriteLine($"machine: read {m.HugePagesMedianGBs:F1} GB/s median ({m.HugePagesBestGBs:F1} best) with huge pages, {m.SmallPagesMedianGBs:F1} ({m.SmallPagesBestGBs:F1}) with 4 KiB; "
            + $"peaks: fp32 FMA {m.Fp32FmaGflops ?? m.ManagedFp32FmaGflops:F0}, vdpbf16ps {m.Bf16DotGflops?.ToString("F0") ?? "-"} GFLOP/s, vpdpbusd {m.Int8DotGops?.ToString("F0") ?? "-"} GOP/s");
        o.WriteLine($"decode: {decodeMs:F1} ms = {1000 / decodeMs:F2} tokens/s, {WeightBytes / 1e9:F3} GB per token = {gbs:F1} GB/s "
            + $"({100 * gbs / m.HugePagesMedianGBs:F0}% of the median, {100 * gbs / m.HugePagesBestGBs:F0}% of the best bandwidth)");
        if (PairedDecode is var (share, read, rounds))
            o.WriteLine($"decode paired: {100 * share:F0}% of the read bandwidth of its own moment (median over {rounds} repetitions of each decode "
                + $"against the mean of the read passes just before and after it; those means {read:F1} GB/s median)");
        o.WriteLine();
        foreach (var d in Drafters)
        {
            o.WriteLine($"{d.Title} ({d.Rows} row{(d.Rows == 1 ? "" : "s")})");
            o.WriteLine($"{"",-24}      V'   layer ms  head ms  total ms  head share  vs full  vs decode  paired");
            double full = d.Steps[0].TotalMs;
            foreach (var s in d.Steps)
                o.WriteLine($"{s.Label,-24} {s.VocabRows,7} {s.LayerMs,9:F2} {s.HeadMs,8:F2} {s.TotalMs,9:F2} {100 * s.HeadMs / s.TotalMs,10:F0}% {full / s.TotalMs,7:F2}x {s.TotalMs / decodeMs,9:F3}"
                    + $" {Fixed(PairedMeasurement.MedianRatio(s.SamplesMs, s.DecodeSamplesMs), "F3"),7}");
            o.WriteLine("(vs decode: ratio of medians; paired: median over repetitions of the step over the decode step timed in the same repetition)");
            o.WriteLine();
        }
        if (LookupSearchMs is double lookup)
        {
            o.WriteLine($"prompt lookup search ({Context} tokens, no match: the worst case): {lookup:F4} ms = {lookup / decodeMs:F5} of a decode");
            o.WriteLine();
        }
        if (Drafters.Count == 0 && LookupSearchMs == null) o.WriteLine("(no drafter given: --eagle, --draft-model, --medusa or --lookup; verification only)\n");
        o.WriteLine($"Verify T tokens   all logits (ms, vs decode, paired)   as the verifier runs it (ms, vs decode, paired)   layer products: GFLOP/s, share of {instruction} peak   attention ms");
        foreach (var v in Verify)
        {
            double gflops = 2 * layerParams * v.TreeTokens / (v.ProjectionMs / 1000) / 1e9;
            var (paired, verifierPaired) = PairedRatios(v);
            o.WriteLine($"T = {v.TreeTokens,-4} {v.Ms,14:F1} {v.Ms / decodeMs,8:F2}x {Fixed(paired, "F2"),6}x {v.VerifierMs,22:F1} {v.VerifierMs / Decode.VerifierMs,8:F2}x "
                + $"{Fixed(verifierPaired, "F2"),6}x ({v.ChainRows} head rows) {gflops,12:F0} {(peak is double pk ? $"{100 * gflops / pk:F0}%" : "-"),8} {v.Phases["Attention"],12:F1}");
        }
        o.WriteLine("(vs decode: ratio of medians; paired: median over repetitions of T over the same repetition's T = 1)");
        if (Prefill is { } p)
        {
            o.WriteLine();
            double projMs = p.Phases.Where(x => x.Key.Contains("Projection", StringComparison.Ordinal)).Sum(x => x.Value);
            double gflops = 2 * layerParams * p.Tokens / (projMs / 1000) / 1e9;
            o.WriteLine($"prefill {p.Tokens} tokens (chunks of {p.Chunk}): {p.Seconds:F2} s = {p.TokensPerSecond:F0} tokens/s; layer products {gflops:F0} GFLOP/s"
                + $" ({(peak is double pk ? $"{100 * gflops / pk:F0}%" : "-")} of peak), attention {p.Phases["Attention"] / 1000:F2} s");
        }
    }

    private static JsonObject Phases(IReadOnlyDictionary<string, double> phases)
    {
        var o = new JsonObject();
        foreach (var (k, v) in phases) o[char.ToLowerInvariant(k[0]) + k[1..]] = R(v);
        return o;
    }

    private static string Fixed(double? v, string format) => v?.ToString(format) ?? "-";

    private static double? R(double? v) => v is double d && double.IsFinite(d) ? Math.Round(d, 4) : null;
}
