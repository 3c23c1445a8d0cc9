using FrSpec.Benchmarks;
using FrSpec.Numerics;
using FrSpec.Sessions;
using FrSpec.Tests.Cli;

namespace FrSpec.Tests.Benchmarks;

/// <summary>`bench products` and `bench bf16-tile`: tuning variants parse, apply and restore; the probes measure where
/// their kernels exist and refuse bad input with one line.</summary>
public class ProductBenchTests
{
    [Fact]
    public void AVariantSetsItsKnobsAndTheDefaultsComeBack()
    {
        var defaults = ProductTuning.Current("default");
        long ahead = PanelProducts.PrefetchAhead;
        int chunks = QuantizedProducts.BatchChunksPerThread;
        var v = ProductTuning.Parse("deep:ahead=12345,qchunks=3");
        Assert.Equal("deep", v.Name);
        try
        {
            v.Apply();
            Assert.Equal(12345, PanelProducts.PrefetchAhead);
            Assert.Equal(3, QuantizedProducts.BatchChunksPerThread);
        }
        finally { defaults.Apply(); }
        Assert.Equal(ahead, PanelProducts.PrefetchAhead);
        Assert.Equal(chunks, QuantizedProducts.BatchChunksPerThread);
        Assert.Equal("plain", ProductTuning.Parse("plain").Name);
    }

    [Theory]
    [InlineData("x:bogus=1", "bogus")]
    [InlineData("x:ahead", "ahead")]
    [InlineData("x:ahead=-5", "non-negative")]
    [InlineData(":ahead=5", "name")]
    public void BadVariantsAreOneLineErrors(string spec, string names)
    {
        var e = Assert.Throws<FrSpecException>(() => ProductTuning.Parse(spec));
        Assert.Contains(names, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void TheBf16TileProbeMeasuresEachVariantWhereTheCpuHasBf16Dots()
    {
        var results = Bf16TileProbe.Measure(8, 64, 256, 0.02, [ProductTuning.Parse("default"), ProductTuning.Parse("none:ahead=0,hint=0")]);
        if (Compute.Default.Generated?.Bf16Panels == null || Compute.Default.Precision != Precision.Fast) { Assert.Null(results); return; }
        Assert.NotNull(results);
        Assert.Equal(["default", "none"], results.Select(r => r.Variant));
        foreach (var r in results)
        {
            Assert.Equal((8, 64, 256), (r.Acts, r.Rows, r.Cols));
            Assert.True(r.KernelGops > 0 && r.PeakGops > 0 && r.PoolGops > 0, r.ToString());
        }
        Assert.Contains("--matrix-rows", Assert.Throws<FrSpecException>(() => Bf16TileProbe.Measure(8, 48, 256, 0.01, [ProductTuning.Parse("d")])).Message);
        Assert.Contains("--matrix-cols", Assert.Throws<FrSpecException>(() => Bf16TileProbe.Measure(8, 64, 255, 0.01, [ProductTuning.Parse("d")])).Message);
        Assert.Contains("--acts", Assert.Throws<FrSpecException>(() => Bf16TileProbe.Measure(13, 64, 256, 0.01, [ProductTuning.Parse("d")])).Message);
    }

    [Fact]
    public void ThePassProbeTimesEveryRowCountUnderEveryVariant()
    {
        using var model = LanguageModel.Load(TestModels.Dir(TestModels.TinyLlama(), DType.BF16));
        var results = PassProductsProbe.Measure(model.Target, [1, 9], [ProductTuning.Parse("a"), ProductTuning.Parse("b:ahead=0")], 2);
        Assert.Equal([(1, "a"), (1, "b"), (9, "a"), (9, "b")], results.Select(r => (r.Rows, r.Variant)));
        Assert.All(results, r => Assert.True(r.Ms > 0 && r.DecodeMs > 0 && r.Gops > 0 && r.RatioToDecode > 0, r.ToString()));
        Assert.All(results, r => Assert.True(r.PartsMs.Length == PassProductsProbe.Parts.Length && r.PartsMs.All(ms => ms > 0), string.Join(" ", r.PartsMs)));
        // one round: every product kind is timed within its own pass, so the kinds add up to at most the pass
        var single = PassProductsProbe.Measure(model.Target, [3], [ProductTuning.Parse("a")], 1);
        Assert.All(single, r => Assert.True(r.PartsMs.All(ms => ms > 0) && r.PartsMs.Sum() <= r.Ms, $"{string.Join(" ", r.PartsMs)} vs {r.Ms}"));
    }

    [Fact]
    public void BadVariantsOnTheCommandLineAreOneLineErrors()
    {
        var (code, error) = ErrorPathTests.Run("bench", "bf16-tile", "--variant", "x:nope=1");
        Assert.Equal(1, code);
        ErrorPathTests.AssertOneLineError(error, "nope");
    }
}
