using FrSpec.Formats.Gguf;
using FrSpec.Fuzzing.Mutators;
using FrSpec.Model;
using FrSpec.Numerics;

namespace FrSpec.Tests.Formats;

/// <summary>GGUF models the engine cannot run fail at load with one FrSpecException naming the file and the key or tensor.</summary>
public class GgufModelErrorTests
{
    private static readonly Lazy<string> Valid = new(() => GgufFixtures.Export(TestModels.TinyLlama(300), DType.F16).Gguf);

    private static string Variant(Func<byte[], GgufFieldMap, byte[]> change)
    {
        var bytes = File.ReadAllBytes(Valid.Value);
        string path = Path.Combine(TestModels.NewTempDir(), "m.gguf");
        File.WriteAllBytes(path, change(bytes, new GgufFieldMap(bytes)));
        return path;
    }

    /// <summary>Overwrites the text of a string field in place (same length).</summary>
    private static byte[] Text(byte[] bytes, GgufFieldMap map, string lengthField, string replacement)
    {
        var copy = (byte[])bytes.Clone();
        var f = map[lengthField];
        Assert.Equal((ulong)replacement.Length, f.Value);
        System.Text.Encoding.UTF8.GetBytes(replacement).CopyTo(copy, f.Offset + 8);
        return copy;
    }

    private static void LoadFails(string path, params string[] expected)
    {
        var e = Assert.Throws<FrSpecException>(() => Transformer.Load(path).Dispose());
        Assert.StartsWith(path, e.Message);
        foreach (var s in expected) Assert.Contains(s, e.Message);
    }

    [Fact]
    public void UnsupportedArchitectureIsNamed() =>
        LoadFails(Variant((b, m) => Text(b, m, "kv[general.architecture].str_len", "gemma")), "architecture 'gemma' is not supported", "llama, qwen2");

    [Fact]
    public void MissingKeyIsNamed() =>
        LoadFails(Variant((b, m) => Text(b, m, "kv[llama.feed_forward_length].key_len", "llama.feed_forward_lengtX")), "'llama.feed_forward_length' is missing");

    [Fact]
    public void MetadataThatContradictsTheTensorsIsNamed()
    {
        LoadFails(Variant((b, m) => m.With(b, "kv[llama.attention.head_count].value", 8)), "blk.0.attn_q.weight", "[128, 64]", "[64, 64]");
        LoadFails(Variant((b, m) => m.With(b, "kv[llama.vocab_size].value", 301)), "'llama.vocab_size' (301)", "300 rows");
        LoadFails(Variant((b, m) => m.With(b, "kv[llama.feed_forward_length].value", 128)), "blk.0.ffn_gate.weight", "[160, 64]", "[128, 64]");
        LoadFails(Variant((b, m) => m.With(b, "kv[llama.block_count].value", 3)), "blk.2.");
        LoadFails(Variant((b, m) => m.With(b, "kv[llama.rope.dimension_count].value", 8)), "partial rotary");
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        var e = Assert.Throws<FrSpecException>(() => Transformer.Load("/nonexistent/model.gguf"));
        Assert.Contains("/nonexistent/model.gguf", e.Message);
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void Q8_0LoadsExactlyOrFailsNamingTheTensor()
    {
        // Q8_0's decoder belongs to the int8-kernel work: until it exists a Q8_0 file must fail clearly at load; once it
        // exists the file must compute the weights its description gives (decoded here independently).
        static GgmlType? Plan(string name) => name.EndsWith("attn_q.weight") || name.EndsWith("ffn_up.weight") ? GgmlType.Q8_0 : null;
        var (dir, gguf) = GgufFixtures.Export(TestModels.TinyLlama(300), DType.F32);
        string q8 = GgufFixtures.Requantize(gguf, Plan);
        bool decodable;
        unsafe
        {
            var block = new byte[34];
            var y = new float[32];
            try { fixed (byte* p = block) FrSpec.Numerics.Convert.ToFloat(DType.Q8_0, p, y); decodable = true; }
            catch (NotSupportedException) { decodable = false; }
        }
        if (!decodable)
        {
            LoadFails(q8, "tensor 'blk.0.attn_q.weight' is Q8_0", "not implemented");
            return;
        }
        // Exact precision: f32 activations against the decoded blocks, which is what the dequantized reference computes
        // (the fast precision's int8 activations have their own error bound in FastPrecisionErrorTests).
        var exact = EngineOptions.Default with { Precision = Precision.Exact };
        using var reference = Transformer.Load(GgufFixtures.Dequantized(dir, Plan), exact);
        using var model = Transformer.Load(q8, exact);
        var tokens = new[] { 5, 9, 200 };
        var a = reference.Forward(reference.CreateState(), reference.CreateCache(4), tokens, [0, 1, 2]).ToArray();
        var b = model.Forward(model.CreateState(), model.CreateCache(4), tokens, [0, 1, 2]).ToArray();
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-4f, $"hidden {i}: {b[i]} vs {a[i]}");
    }
}
