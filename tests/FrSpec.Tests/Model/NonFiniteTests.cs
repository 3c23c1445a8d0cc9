using System.Buffers.Binary;
using FrSpec.Formats;
using FrSpec.Fuzzing;
using FrSpec.Model;
using FrSpec.Tests.Cli;

namespace FrSpec.Tests.Model;

/// <summary>NaN or ∞ in weights is reported with the place it first appears, never turned into tokens or a NaN score.</summary>
[Collection("Console")]
public class NonFiniteTests
{
    private static readonly EngineOptions Options = new() { Threads = 1, WeightMemory = WeightMemory.Mapped };

    /// <summary>A copy of <paramref name="source"/> with float element <paramref name="index"/> of <paramref name="tensor"/> set to <paramref name="value"/> (f32 weights).</summary>
    private static string WithValue(string source, string tensor, long index, float value)
    {
        string dir = TestModels.NewTempDir();
        foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        string file = Path.Combine(dir, "model.safetensors");
        long offset;
        using (var st = SafetensorsFile.Open(file))
        {
            var e = st.Entries[tensor];
            Assert.Equal("F32", e.DType);
            offset = 8 + BinaryPrimitives.ReadInt64LittleEndian(File.ReadAllBytes(file).AsSpan(0, 8)) + e.Begin + index * 4;
        }
        using (var fs = new FileStream(file, FileMode.Open, FileAccess.Write))
        {
            fs.Position = offset;
            fs.Write(BitConverter.GetBytes(value));
        }
        return dir;
    }

    private static string Seed()
    {
        string dir = TestModels.NewTempDir();
        FuzzSeeds.WriteModel(dir);
        return dir;
    }

    private static FrSpecException Forward(string dir, int[] tokens)
    {
        using var m = Transformer.Load(dir, Options);
        return Assert.Throws<FrSpecException>(() =>
        {
            var h = m.Forward(m.CreateState(), m.CreateCache(8), tokens, Enumerable.Range(0, tokens.Length).ToArray()).ToArray();
            m.Head.Compute(h, tokens.Length, new float[tokens.Length * m.Config.VocabSize]);
        });
    }

    [Fact]
    public void NaN_in_a_layer_is_named_with_the_layer()
    {
        var e = Forward(WithValue(Seed(), "model.layers.1.mlp.down_proj.weight", 5, float.NaN), [1, 2, 3]);
        Assert.Contains("layer 1 (model.layers.1.*)", e.Message);
        e = Forward(WithValue(Seed(), "model.layers.0.self_attn.v_proj.weight", 0, float.PositiveInfinity), [1, 2]);
        Assert.Contains("layer 0", e.Message);
    }

    [Fact]
    public void NaN_in_an_embedding_row_names_the_row()
    {
        var e = Forward(WithValue(Seed(), "model.embed_tokens.weight", 7L * FuzzSeeds.ModelSpec.HiddenSize + 3, float.NaN), [1, 7]);
        Assert.Contains("row 7 of the embedding", e.Message);
    }

    [Fact]
    public void NaN_in_an_untied_lm_head_is_named()
    {
        string qwen = TestModels.Dir(TestModels.TinyQwen());
        var e = Forward(WithValue(qwen, "lm_head.weight", 10, float.NaN), [1, 2]);
        Assert.Contains("LM head", e.Message);
    }

    [Fact]
    public void Score_never_prints_NaN()
    {
        string dir = WithValue(Seed(), "model.norm.weight", 2, float.NaN);
        var stdout = Console.Out;
        var captured = new StringWriter();
        Console.SetOut(captured);
        try
        {
            var (code, error) = ErrorPathTests.Run("score", "--model", dir, "--ids", "296,104,101");
            Assert.Equal(1, code);
            ErrorPathTests.AssertOneLineError(error, "model.norm.weight");
        }
        finally { Console.SetOut(stdout); }
        Assert.DoesNotContain("NaN", captured.ToString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(33)]
    [InlineData(1000)]
    public void The_finiteness_check_sees_every_position(int n)
    {
        var x = Enumerable.Range(0, n).Select(i => i * 1e30f).ToArray();
        Assert.True(NonFinite.AllFinite(x));
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            for (int i = 0; i < n; i++)
            {
                var y = (float[])x.Clone();
                y[i] = bad;
                Assert.False(NonFinite.AllFinite(y), $"{bad} at {i} of {n}");
            }
    }
}
