using FrSpec.Benchmarks;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Sessions;
using FrSpec.Tests.Speculative;

namespace FrSpec.Tests.Benchmarks;

/// <summary>`bench components` rates the layer products against the peak of the instruction they really run on, and reports
/// decode's share of bandwidth and the ratios to decode both from medians and paired per repetition.</summary>
public class ComponentsReportTests
{
    [Theory]
    [InlineData(Precision.Fast, DType.BF16, true, true, "vdpbf16ps")]
    [InlineData(Precision.Fast, DType.Q8_0, true, true, "vpdpbusd")]
    [InlineData(Precision.Fast, DType.Q4_K, false, true, "vpdpbusd")]
    [InlineData(Precision.Fast, DType.Q6_K, true, false, "fp32 FMA")] // managed int8 kernels: no generated peak to compare with
    [InlineData(Precision.Fast, DType.BF16, false, true, "fp32 FMA")]
    [InlineData(Precision.Fast, DType.F32, true, true, "fp32 FMA")]
    [InlineData(Precision.Exact, DType.BF16, true, true, "fp32 FMA")]
    [InlineData(Precision.Exact, DType.Q8_0, true, true, "fp32 FMA")]
    public void Products_are_rated_against_the_instruction_they_run_on(Precision precision, DType weights, bool bf16, bool int8, string expected) =>
        Assert.Equal(expected, ComponentsReport.ProductInstruction(precision, weights, bf16, int8));

    private static readonly IReadOnlyDictionary<string, double> NoPhases =
        PassProfile.Phases.ToDictionary(p => p.ToString(), _ => 1.0);

    private static ComponentsReport Report(Transformer target, IReadOnlyList<double>? before, IReadOnlyList<double>? after)
    {
        // decode: 10, 10, 20 ms (a slow third repetition); T = 8 costs 2 decode steps in each repetition
        var decode = new VerifyTiming(1, 9, 1, 1, 1, 10, 10, NoPhases, [10, 10, 20], [10, 10, 20], before, after);
        var eight = new VerifyTiming(8, 18, 2, 2, 1, 30, 30, NoPhases, [20, 20, 40], [20, 20, 40]);
        var step = new DraftStepTiming("full", 512, 1, 1, 0.5, null, [2, 2, 4], [10, 10, 20]);
        return new ComponentsReport
        {
            Target = target, Context = 20, Repeats = 3, Verify = [decode, eight], Drafters = [new("EAGLE-2 draft step", 4, [step])],
            Machine = new MachineLimits(2, 40, 60, 30, 50, 100, null, null, null),
        };
    }

    [Fact]
    public void Json_keeps_the_median_fields_and_adds_the_paired_ones()
    {
        using var model = LanguageModel.Load(TinyModels.Target("llama3", true, 86));
        var target = model.Target;
        double gbs(double ms) => target.WeightBytesPerToken() / (ms / 1000) / 1e9;
        var report = Report(target, [gbs(10) / 0.9, gbs(10) / 0.9, gbs(20) / 0.9], [gbs(10) / 0.9, gbs(10) / 0.9, gbs(20) / 0.9]);
        var json = report.ToJson();
        var decode = json["decode"]!;
        Assert.Equal(10.0, (double)decode["ms"]!);
        Assert.Equal(Math.Round(gbs(10) / 40, 4), (double)decode["shareOfBandwidthMedian"]!);
        Assert.Equal(Math.Round(gbs(10) / 60, 4), (double)decode["shareOfBandwidthBest"]!);
        Assert.Equal(0.9, (double)decode["shareOfBandwidthPaired"]!, 3); // every repetition at 90% of its own moment's bandwidth
        Assert.Equal(3, (int)decode["pairedRounds"]!);
        Assert.Equal(Math.Round(gbs(10) / 0.9, 4), (double)decode["pairedReadGBs"]!);
        var verify = json["verify"]!.AsArray();
        Assert.Equal(3.0, (double)verify[1]!["ratioToDecode"]!);       // 30 ms over 10: medians of different repetitions
        Assert.Equal(2.0, (double)verify[1]!["ratioToDecodePaired"]!); // each repetition: 2 decode steps
        Assert.Equal(2.0, (double)verify[1]!["verifierRatioToDecodePaired"]!);
        Assert.Equal(1.0, (double)verify[0]!["ratioToDecodePaired"]!);
        var step = json["drafters"]![0]!["steps"]![0]!;
        Assert.Equal(0.2, (double)step["ratioToDecode"]!);
        Assert.Equal(0.2, (double)step["ratioToDecodePaired"]!);
        var text = new StringWriter();
        report.Print(text);
        Assert.Contains("decode paired: 90%", text.ToString());
        Assert.Contains("2.00x", text.ToString());
    }

    [Fact]
    public void Without_read_passes_the_paired_share_is_null_and_the_text_says_nothing_of_it()
    {
        using var model = LanguageModel.Load(TinyModels.Target("llama3", true, 87));
        var report = Report(model.Target, null, null);
        var decode = report.ToJson()["decode"]!.AsObject();
        Assert.True(decode.ContainsKey("shareOfBandwidthPaired"));
        Assert.Null(decode["shareOfBandwidthPaired"]);
        Assert.NotNull(decode["shareOfBandwidthMedian"]);
        var text = new StringWriter();
        report.Print(text);
        Assert.DoesNotContain("decode paired", text.ToString());
    }
}
