using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Tests.Model;

namespace FrSpec.Tests.Generation;

public class VanillaDecoderTests
{
    [Fact]
    public void GreedyDecodingFollowsReferenceArgmax()
    {
        string dir = TestModels.Dir(TestModels.TinyLlama());
        using var m = Transformer.Load(dir);
        var prompt = new[] { 5, 17, 42, 99 };
        var result = new VanillaDecoder(m).Generate(prompt, new GenerationOptions { MaxNewTokens = 6 });
        Assert.Equal(6, result.Ids.Length);
        var reference = new ReferenceTransformer(dir);
        var seq = prompt.ToList();
        foreach (var id in result.Ids)
        {
            var logits = reference.Logits(seq.ToArray())[^1];
            Assert.Equal(Array.IndexOf(logits, logits.Max()), id);
            seq.Add(id);
        }
    }

    [Fact]
    public void SamplingIsReproducibleAndStopsOnStopId()
    {
        using var m = Transformer.Load(TestModels.Dir(TestModels.TinyQwen()));
        var dec = new VanillaDecoder(m);
        var prompt = new[] { 3, 4, 5 };
        var o = new GenerationOptions { MaxNewTokens = 20, Sampling = new SamplingOptions(1f, 0, 0.95f, 123) };
        var a = dec.Generate(prompt, o);
        var b = dec.Generate(prompt, o);
        Assert.Equal(a.Ids, b.Ids);
        var c = dec.Generate(prompt, o with { Sampling = new SamplingOptions(1f, 0, 0.95f, 124) });
        Assert.NotEqual(a.Ids, c.Ids);
        // stop on the 3rd generated token
        var stop = dec.Generate(prompt, o with { StopIds = new[] { a.Ids[2] } });
        Assert.True(stop.StoppedByStopId);
        Assert.Equal(a.Ids.Take(Array.IndexOf(a.Ids, a.Ids[2]) + 1), stop.Ids);
        var streamed = new List<int>();
        dec.Generate(prompt, o, streamed.Add);
        Assert.Equal(a.Ids, streamed);
    }
}
