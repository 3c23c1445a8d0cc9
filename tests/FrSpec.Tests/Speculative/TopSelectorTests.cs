using FrSpec.Speculative;

namespace FrSpec.Tests.Speculative;

/// <summary>The top-m selection against a plain reference (sort by value descending, then index ascending; NaN as −∞),
/// on lengths around the vector width, with ties, NaNs, infinities and denormals.</summary>
public class TopSelectorTests
{
    [Fact]
    public void SelectsTheSameAsSortingOnAwkwardInputs()
    {
        var r = new Random(21);
        foreach (int length in new[] { 1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000, 32771 })
            foreach (int m in new[] { 1, 3, 8, 10, 64 })
                for (int kind = 0; kind < 5; kind++)
                {
                    var values = new float[length];
                    for (int i = 0; i < length; i++)
                        values[i] = kind switch
                        {
                            0 => (float)r.NextDouble(),
                            1 => r.Next(5),                                    // many ties
                            3 => (float)(r.NextDouble() * 1e-39) * (r.Next(2) == 0 ? 1 : -1), // denormals, ± (ties at ±0)
                            2 => r.Next(10) == 0 ? float.NaN : r.Next(3) == 0 ? float.NegativeInfinity : (float)(r.NextDouble() - 0.5),
                            _ => i,                                            // ascending: every vector holds a new entry
                        };
                    int want = Math.Min(m, length);
                    var expected = Enumerable.Range(0, length).Select(i => (v: float.IsNaN(values[i]) ? float.NegativeInfinity : values[i], i))
                        .OrderByDescending(p => p.v).ThenBy(p => p.i).Take(want).ToArray();
                    var idx = new int[m];
                    var top = new float[m];
                    int n = TopSelector.Select(values, m, idx, top);
                    Assert.Equal(want, n);
                    Assert.Equal(expected.Select(p => p.i), idx.Take(n));
                    Assert.Equal(expected.Select(p => p.v), top.Take(n));
                }
    }
}
