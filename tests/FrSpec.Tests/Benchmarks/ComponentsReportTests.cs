using FrSpec.Benchmarks;
using FrSpec.Numerics;

namespace FrSpec.Tests.Benchmarks;

/// <summary>`bench components` rates the layer products against the peak of the instruction they really run on.</summary>
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
}
