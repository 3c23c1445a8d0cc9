using System.Text.Json.Nodes;
using FrSpec.Formats;
using FrSpec.Formats.Gguf;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Synthesis;

namespace FrSpec.Tests.Formats;

public class GgufWriterTests
{
    private const int Vocab = 300;

    [Fact]
    public void WriterRoundTripsMetadataAndAlignedTensorData()
    {
        string path = Path.Combine(TestModels.NewTempDir(), "t.gguf");
        var w = new GgufWriter();
        w.AddString("general.architecture", "llama");
        w.SetAlignment(64);
        w.AddUInt32("u32", 7);
        w.AddInt32("i32", -3);
        w.AddUInt64("u64", 1UL << 40);
        w.AddFloat32("f32", 1.5f);
        w.AddFloat64("f64", -2.25);
        w.AddBool("b", true);
        w.AddStrings("strs", ["a b", "", "héllo"]);
        w.AddInt32s("ints", [1, -2, 3]);
        w.AddFloat32s("floats", [0.5f]);
        var t1 = Enumerable.Range(0, 3 * 5).Select(i => (byte)i).ToArray(); // 3 bytes short of alignment on purpose
        var t2 = Enumerable.Range(0, 2 * 3 * 4).Select(i => (float)i).ToArray();
        w.AddTensor("odd", GgmlType.F16, [3, 5], s => s.Write(t1.Concat(new byte[15]).ToArray()));
        w.AddTensor("mat", GgmlType.F32, [2, 3, 4], s => s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t2.AsSpan())));
        w.Write(path);

        var r = new GgufTestReader(path);
        Assert.Equal(3u, r.Version);
        Assert.Equal(64, r.Alignment);
        Assert.Equal("llama", r.Metadata["general.architecture"]);
        Assert.Equal(7u, r.Metadata["u32"]);
        Assert.Equal(-3, r.Metadata["i32"]);
        Assert.Equal(1UL << 40, r.Metadata["u64"]);
        Assert.Equal(1.5f, r.Metadata["f32"]);
        Assert.Equal(-2.25, r.Metadata["f64"]);
        Assert.Equal(true, r.Metadata["b"]);
        Assert.Equal(new object[] { "a b", "", "héllo" }, (object[])r.Metadata["strs"]);
        Assert.Equal(new object[] { 1, -2, 3 }, (object[])r.Metadata["ints"]);
        Assert.Equal(0, r.DataStart % 64);
        Assert.Equal(new ulong[] { 5, 3 }, r.Tensor("odd").Dims);       // innermost dimension first
        Assert.Equal(new ulong[] { 4, 3, 2 }, r.Tensor("mat").Dims);
        Assert.Equal(0UL, r.Tensor("odd").Offset);
        Assert.Equal(64UL, r.Tensor("mat").Offset);                     // 30 bytes rounded up to the alignment
        Assert.Equal(1u, r.Tensor("odd").Type);
        Assert.Equal(t1.Concat(new byte[15]).ToArray(), r.Data("odd"));
        Assert.Equal(t2, r.Floats("mat"));
        Assert.Equal(r.DataStart + 64 + 128, r.FileLength);           // the last tensor is padded too, as ggml does
    }

    [Fact]
    public void WriterRejectsWrongByteCountsAndDuplicates()
    {
        var w = new GgufWriter();
        w.AddTensor("x", GgmlType.F32, [4], s => s.Write(new byte[12]));
        Assert.Throws<InvalidOperationException>(() => w.WriteTo(new MemoryStream()));
        Assert.Throws<ArgumentException>(() => w.AddTensor("x", GgmlType.F32, [4], _ => { }));
        Assert.Throws<ArgumentException>(() => w.AddTensor(new string('n', 64), GgmlType.F32, [4], _ => { }));
        w.AddUInt32("k", 1);
        Assert.Throws<ArgumentException>(() => w.AddString("k", "again"));
        Assert.Throws<ArgumentOutOfRangeException>(() => w.SetAlignment(48));
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void LlamaExportHasLlamaCppNamesMetadataAndTokenizer(DType dtype)
    {
        var spec = TestModels.TinyLlama(Vocab);
        var (dir, gguf) = Export(spec, dtype);
        var r = new GgufTestReader(gguf);
        var c = ModelConfig.Load(dir);

        Assert.Equal("llama", r.Metadata["general.architecture"]);
        Assert.Equal((uint)spec.Layers, r.Metadata["llama.block_count"]);
        Assert.Equal((uint)spec.HiddenSize, r.Metadata["llama.embedding_length"]);
        Assert.Equal((uint)spec.IntermediateSize, r.Metadata["llama.feed_forward_length"]);
        Assert.Equal((uint)spec.Heads, r.Metadata["llama.attention.head_count"]);
        Assert.Equal((uint)spec.KvHeads, r.Metadata["llama.attention.head_count_kv"]);
        Assert.Equal((uint)c.HeadDim, r.Metadata["llama.rope.dimension_count"]);
        Assert.Equal((uint)spec.MaxPositions, r.Metadata["llama.context_length"]);
        Assert.Equal((uint)Vocab, r.Metadata["llama.vocab_size"]);
        Assert.Equal(500000f, r.Metadata["llama.rope.freq_base"]);
        Assert.Equal(1e-5f, r.Metadata["llama.attention.layer_norm_rms_epsilon"]);
        Assert.Equal(6u, r.MetadataTypes["llama.rope.freq_base"]);

        Assert.Equal("gpt2", r.Metadata["tokenizer.ggml.model"]);
        Assert.Equal("llama-bpe", r.Metadata["tokenizer.ggml.pre"]);
        var tokens = (object[])r.Metadata["tokenizer.ggml.tokens"];
        var types = (object[])r.Metadata["tokenizer.ggml.token_type"];
        Assert.Equal(Vocab, tokens.Length);
        Assert.Equal(Vocab, types.Length);
        Assert.Equal("t5", tokens[5]);
        Assert.Equal(1, types[5]);                 // normal
        Assert.Equal("[PAD296]", tokens[296]);
        Assert.Equal(5, types[296]);               // unused: the tokenizer has no id 296
        Assert.Equal("hello world", tokens[297]);
        Assert.Equal(4, types[297]);               // user-defined added token
        Assert.Equal("<|begin|>", tokens[298]);
        Assert.Equal(3, types[298]);               // control (special)
        Assert.Equal(3, types[299]);               // control: not flagged special but written <|...|>
        Assert.Equal(new object[] { "t1 t2", "t3 t4", "Ġ t7" }, (object[])r.Metadata["tokenizer.ggml.merges"]);
        Assert.Equal(298u, r.Metadata["tokenizer.ggml.bos_token_id"]);   // from tokenizer_config.json, not config.json's 1
        Assert.Equal(299u, r.Metadata["tokenizer.ggml.eos_token_id"]);
        Assert.Equal(true, r.Metadata["tokenizer.ggml.add_bos_token"]);

        var names = r.Tensors.Select(t => t.Name).ToHashSet();
        Assert.Contains("token_embd.weight", names);
        Assert.Contains("output_norm.weight", names);
        Assert.Contains("rope_freqs.weight", names);
        Assert.DoesNotContain("output.weight", names); // tied embeddings
        foreach (var n in new[] { "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down" })
            Assert.Contains($"blk.{spec.Layers - 1}.{n}.weight", names);
        Assert.Equal(3 + 9 * spec.Layers, r.Tensors.Count);
        foreach (var t in r.Tensors) Assert.Equal(0UL, t.Offset % 32);

        uint expectType = dtype == DType.F32 ? 0u : 30u;
        Assert.Equal(expectType, r.Tensor("blk.0.ffn_up.weight").Type);
        Assert.Equal(0u, r.Tensor("blk.0.attn_norm.weight").Type);     // norms always F32
        Assert.Equal(new ulong[] { (ulong)spec.HiddenSize, (ulong)Vocab }, r.Tensor("token_embd.weight").Dims);

        using var store = TensorStore.Open(dir);
        Assert.Equal(Bytes(store, "model.layers.1.mlp.down_proj.weight"), r.Data("blk.1.ffn_down.weight"));
        Assert.Equal(Bytes(store, "model.embed_tokens.weight"), r.Data("token_embd.weight"));
        Assert.Equal(store.Vector("model.layers.0.post_attention_layernorm.weight", spec.HiddenSize), r.Floats("blk.0.ffn_norm.weight"));

        // q and k: rows regrouped per head so lane pairs (2j, 2j+1) hold HF lanes (j, j + headDim/2).
        int hd = c.HeadDim;
        foreach (var (hf, gg, heads) in new[] { ("q_proj", "attn_q", spec.Heads), ("k_proj", "attn_k", spec.KvHeads) })
        {
            var src = store.Matrix($"model.layers.0.self_attn.{hf}.weight", heads * hd, spec.HiddenSize);
            var got = r.Data($"blk.0.{gg}.weight");
            int rb = src.RowBytes;
            var srcBytes = Bytes(store, $"model.layers.0.self_attn.{hf}.weight");
            for (int head = 0; head < heads; head++)
                for (int j = 0; j < hd / 2; j++)
                    for (int s = 0; s < 2; s++)
                        Assert.Equal(srcBytes.AsSpan((head * hd + s * hd / 2 + j) * rb, rb).ToArray(), got.AsSpan((head * hd + 2 * j + s) * rb, rb).ToArray());
        }

        // rope_freqs: llama.cpp divides θ^(-2i/d) by these; the result must be FrSpec's scaled frequencies.
        var factors = r.Floats("rope_freqs.weight");
        Assert.Equal(hd / 2, factors.Length);
        Assert.Equal(1f, factors[0]);                    // highest frequency untouched
        Assert.Equal(32f, factors[^1], 3);               // lowest frequency divided by the factor
        var rope = new Rope(hd, c.RopeTheta, c.RopeScaling);
        var cos = new float[hd / 2]; var sin = new float[hd / 2];
        rope.Tables([1], cos, sin);                      // angle at position 1 = the scaled frequency
        for (int i = 0; i < hd / 2; i++)
        {
            double f = 1.0 / Math.Pow(c.RopeTheta, 2.0 * i / hd) / factors[i];
            Assert.Equal(Math.Cos(f), cos[i], 5);
            Assert.Equal(Math.Sin(f), sin[i], 5);
        }
    }

    [Fact]
    public void Qwen2ExportKeepsRowsAndWritesBiasesAndLmHead()
    {
        var spec = TestModels.TinyQwen(Vocab);
        var (dir, gguf) = Export(spec, DType.F16);
        var r = new GgufTestReader(gguf);
        Assert.Equal("qwen2", r.Metadata["general.architecture"]);
        Assert.Equal("qwen2", r.Metadata["tokenizer.ggml.pre"]);
        Assert.Equal((uint)spec.KvHeads, r.Metadata["qwen2.attention.head_count_kv"]);
        var names = r.Tensors.Select(t => t.Name).ToHashSet();
        Assert.Contains("output.weight", names);
        Assert.Contains("blk.0.attn_q.bias", names);
        Assert.DoesNotContain("rope_freqs.weight", names);
        using var store = TensorStore.Open(dir);
        Assert.Equal(Bytes(store, "model.layers.0.self_attn.q_proj.weight"), r.Data("blk.0.attn_q.weight")); // NeoX rope: no permutation
        Assert.Equal(Bytes(store, "lm_head.weight"), r.Data("output.weight"));
        Assert.Equal(1u, r.Tensor("output.weight").Type);
        Assert.Equal(store.Vector("model.layers.1.self_attn.k_proj.bias", spec.KvHeads * 16), r.Floats("blk.1.attn_k.bias"));
    }

    [Fact]
    public void PermutedRowsTurnHalfSplitRopeIntoAdjacentPairRope()
    {
        // Rotating HF lanes (j, j+d/2) then permuting must equal permuting then rotating lanes (2j, 2j+1).
        const int d = 16;
        var rng = new Random(3);
        var v = Enumerable.Range(0, d).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var cos = Enumerable.Range(0, d / 2).Select(i => MathF.Cos(0.3f * (i + 1))).ToArray();
        var sin = Enumerable.Range(0, d / 2).Select(i => MathF.Sin(0.3f * (i + 1))).ToArray();
        var hf = (float[])v.Clone();
        Rope.Apply(hf, cos, sin);
        var permuted = Enumerable.Range(0, d).Select(r => v[GgufModelExporter.PermutedSourceRow(r, d)]).ToArray();
        var adjacent = new float[d];
        for (int j = 0; j < d / 2; j++)
        {
            float a = permuted[2 * j], b = permuted[2 * j + 1];
            adjacent[2 * j] = a * cos[j] - b * sin[j];
            adjacent[2 * j + 1] = a * sin[j] + b * cos[j];
        }
        for (int r = 0; r < d; r++) Assert.Equal(hf[GgufModelExporter.PermutedSourceRow(r, d)], adjacent[r], 6);
    }

    [Fact]
    public void MissingOrBadTokenizerIsAClearError()
    {
        string dir = TestModels.Dir(TestModels.TinyLlama(Vocab));
        var e = Assert.Throws<FrSpecException>(() => GgufModelExporter.Export(dir, Path.Combine(TestModels.NewTempDir(), "x.gguf")));
        Assert.Contains("tokenizer.json", e.Message);

        string tokDir = TestModels.NewTempDir();
        string tok = Path.Combine(tokDir, "tokenizer.json");
        File.WriteAllText(tok, """{"model":{"type":"BPE","vocab":{"a":0},"merges":[["a"]]}}""");
        e = Assert.Throws<FrSpecException>(() => GgufModelExporter.Export(dir, Path.Combine(tokDir, "x.gguf"), tok));
        Assert.Contains("merges[0]", e.Message);

        File.WriteAllText(tok, """{"model":{"type":"BPE","vocab":{"a":300},"merges":[]}}""");
        e = Assert.Throws<FrSpecException>(() => GgufModelExporter.Export(dir, Path.Combine(tokDir, "x.gguf"), tok));
        Assert.Contains("vocab_size", e.Message);
    }

    private static byte[] Bytes(TensorStore store, string name)
    {
        var (f, e) = store.Find(name);
        return f.Bytes(e).ToArray();
    }

    private static (string dir, string gguf) Export(SynthSpec spec, DType dtype)
    {
        string root = TestModels.NewTempDir();
        string tok = WriteTokenizer(Path.Combine(root, "tok"));
        string dir = Path.Combine(root, "model");
        ModelSynthesizer.Write(spec, dir, dtype, seed: 5, tokenizerJson: tok);
        string gguf = Path.Combine(root, "model.gguf");
        GgufModelExporter.Export(dir, gguf);
        return (dir, gguf);
    }

    /// <summary>
    /// A 300-id byte-level BPE tokenizer.json: ids 0..295 "t0".."t295" (7 is "Ġ"), 296 absent, added tokens 297 (plain),
    /// 298 (special BOS), 299 (not flagged special but written like a control token); merges in both JSON forms.
    /// </summary>
    internal static string WriteTokenizer(string dir)
    {
        Directory.CreateDirectory(dir);
        var vocab = new JsonObject();
        for (int i = 0; i < 296; i++) vocab[i == 7 ? "Ġ" : $"t{i}"] = i;
        var added = new JsonArray(
            new JsonObject { ["id"] = 297, ["content"] = "hello world", ["special"] = false },
            new JsonObject { ["id"] = 298, ["content"] = "<|begin|>", ["special"] = true },
            new JsonObject { ["id"] = 299, ["content"] = "<|eot|>", ["special"] = false });
        var tok = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["post_processor"] = new JsonObject { ["type"] = "TemplateProcessing", ["single"] = new JsonArray(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<|begin|>" } }) },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["vocab"] = vocab,
                ["merges"] = new JsonArray("t1 t2", new JsonArray("t3", "t4"), new JsonArray("Ġ", "t7")),
            },
        };
        string path = Path.Combine(dir, "tokenizer.json");
        File.WriteAllText(path, tok.ToJsonString());
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"bos_token":"<|begin|>","eos_token":{"content":"<|eot|>"}}""");
        return path;
    }
}
