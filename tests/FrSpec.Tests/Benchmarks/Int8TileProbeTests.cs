using FrSpec.Benchmarks;
using FrSpec.Numerics;
using FrSpec.Tests.Cli;

namespace FrSpec.Tests.Benchmarks;

/// <summary>`bench int8-tile`: measures where the generated int8 kernels exist, refuses bad shapes with one line.</summary>
public class Int8TileProbeTests
{
    [Theory]
    [InlineData(DType.Q8_0, 16)]
    [InlineData(DType.Q4_K, 1)]
    public void MeasuresAKernelAndThePeakWhereTheCpuHasVnni(DType type, int acts)
    {
        var result = Int8TileProbe.Measure(type, acts, 32, 256, 0.02);
        if (Compute.Default.Generated?.Int8 == null) { Assert.Null(result); return; }
        var r = Assert.NotNull(result);
        Assert.Equal((type, acts, 32, 256), (r.Type, r.Acts, r.Rows, r.Cols));
        Assert.True(r.KernelGops > 0 && r.PeakGops > 0 && r.PoolGops > 0, r.ToString());
    }

    [Fact]
    public void BadShapesAndTypesAreOneLineErrors()
    {
        if (Compute.Default.Generated?.Int8 == null) return; // the shape checks run after the availability check
        Assert.Contains("--matrix-rows", Assert.Throws<FrSpecException>(() => Int8TileProbe.Measure(DType.Q8_0, 4, 20, 256, 0.01)).Message);
        Assert.Contains("--matrix-cols", Assert.Throws<FrSpecException>(() => Int8TileProbe.Measure(DType.Q8_0, 4, 32, 100, 0.01)).Message);
        Assert.Contains("2^27", Assert.Throws<FrSpecException>(() => Int8TileProbe.Measure(DType.Q8_0, 4, 65536, 65536, 0.01)).Message);
        var (code, error) = ErrorPathTests.Run("bench", "int8-tile", "--type", "q5_1");
        Assert.Equal(1, code);
        ErrorPathTests.AssertOneLineError(error, "--type", "q5_1");
    }
}
