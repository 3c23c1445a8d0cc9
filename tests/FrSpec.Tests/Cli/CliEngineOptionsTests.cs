using FrSpec.Cli.Support;
using FrSpec.Model;

namespace FrSpec.Tests.Cli;

public class CliEngineOptionsTests
{
    private static EngineOptions Parse(params (string Key, string Value)[] vars) =>
        CliEngineOptions.Parse(k => vars.FirstOrDefault(v => v.Key == k).Value);

    [Fact]
    public void Environment_variables_map_onto_engine_options()
    {
        var o = Parse(("FRSPEC_THREADS", "1"), ("FRSPEC_WEIGHTS", "mmap"), ("FRSPEC_ISA", "portable"), ("FRSPEC_PRECISION", "exact"), ("FRSPEC_CODEGEN", "off"));
        Assert.Equal(1, o.Threads);
        Assert.Equal(WeightMemory.Mapped, o.WeightMemory);
        Assert.Equal(FrSpec.Numerics.Isa.Portable, o.Isa);
        Assert.Equal(Precision.Exact, o.Precision);
        Assert.False(o.CodeGeneration);
        Assert.Equal(EngineOptions.Default, Parse());
    }

    [Theory]
    [InlineData("FRSPEC_THREADS", "-2")]
    [InlineData("FRSPEC_THREADS", "two")]
    [InlineData("FRSPEC_WEIGHTS", "disk")]
    [InlineData("FRSPEC_ISA", "sse9")]
    [InlineData("FRSPEC_PRECISION", "sloppy")]
    [InlineData("FRSPEC_CODEGEN", "maybe")]
    public void A_bad_value_is_an_error_naming_the_variable(string key, string value)
    {
        var e = Assert.Throws<FrSpecException>(() => Parse((key, value)));
        Assert.StartsWith(key, e.Message);
    }

    [Fact]
    public void Learned_acceptance_is_kept_between_runs_only_when_asked()
    {
        Assert.False(CliTreeOptions.KeepAcceptance(null));
        Assert.False(CliTreeOptions.KeepAcceptance("0"));
        Assert.True(CliTreeOptions.KeepAcceptance("1"));
        var e = Assert.Throws<FrSpecException>(() => CliTreeOptions.KeepAcceptance("yes"));
        Assert.StartsWith("FRSPEC_KEEP_ACCEPTANCE", e.Message);
    }
}
