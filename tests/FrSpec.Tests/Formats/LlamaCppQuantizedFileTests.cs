using FrSpec.Formats.Gguf;
using FrSpec.Model;
using FrSpec.Numerics;
using FrSpec.Synthesis;
using FrSpec.Text;
using Xunit.Abstractions;
using FileType = FrSpec.Tests.Formats.LlamaCppNative.FileType;

namespace FrSpec.Tests.Formats;

/// <summary>
/// GGUF files quantized by llama.cpp itself (llama_model_quantize, what llama-quantize runs) from a BF16 export: its
/// metadata, tensor order, alignment, type mix and fallbacks, and its own block encodings. FrSpec loads every file whose
/// types it supports, with the tokenizer and chat template from the file, and computes llama.cpp's logits on it; a file
/// with a type it does not support (Q5_1, Q5_K) is refused in one line naming the tensor and the type.
/// </summary>
public class LlamaCppQuantizedFileTests(ITestOutputHelper output)
{
    private const string Template = "{% for m in messages %}<|begin|>{{ m['role'] }}\n{{ m['content'] }}<|eot|>{% endfor %}";

    /// <summary>Families and llama.cpp file types (<see cref="LlamaCppNative.FileType"/> names).</summary>
    public static TheoryData<string, string> Files
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var t in new[] { "Q8_0", "Q4_0", "Q4_K_M", "Q6_K", "Q5_K_M", "Q5_0", "Q5_1" }) data.Add("llama", t);
            foreach (var t in new[] { "Q8_0", "Q4_0", "Q4_K_M", "Q6_K", "Q5_K_M" })
            {
                data.Add("qwen", t);
                data.Add("qwen-narrow", t); // rows of 224: llama.cpp's fallbacks for rows that are not whole 256-weight blocks
            }
            return data;
        }
    }

    [Theory, MemberData(nameof(Files))]
    public void FrSpecReadsWhatLlamaCppQuantized(string family, string typeName)
    {
        var type = Enum.Parse<FileType>(typeName);
        if (!LlamaCppNative.Available) { output.WriteLine("llama.cpp (linux-x64 noavx build) is not in the test output: nothing to quantize with"); return; }
        var spec = GgufQuantizeTests.Wide(family);
        string root = TestModels.NewTempDir();
        string tok = GgufWriterTests.WriteTokenizer(Path.Combine(root, "tok"));
        File.WriteAllText(Path.Combine(root, "tok", "chat_template.jinja"), Template);
        string dir = Path.Combine(root, "model");
        ModelSynthesizer.Write(spec, dir, DType.BF16, seed: 5, tokenizerJson: tok);
        string source = Path.Combine(root, "model-bf16.gguf");
        GgufModelExporter.Export(dir, source, tok);
        string gguf = Path.Combine(root, $"model-{type}.gguf");
        LlamaCppNative.Quantize(source, gguf, type);

        var before = new GgufTestReader(source);
        var file = new GgufTestReader(gguf);
        output.WriteLine($"{family} {type}: " + string.Join(", ", file.Tensors.GroupBy(t => GgmlTypeInfo.Name(t.Type))
            .Select(g => $"{g.Key} ×{g.Count()} ({string.Join(" ", g.Select(t => t.Name.Replace(".weight", "")))})")));
        output.WriteLine($"metadata llama.cpp added or changed: {string.Join(", ", file.Metadata.Where(kv => !before.Metadata.TryGetValue(kv.Key, out var v) || !SameValue(v, kv.Value)).Select(kv => $"{kv.Key} = {kv.Value}"))}; " +
            $"removed: {string.Join(", ", before.Metadata.Keys.Where(k => !file.Metadata.ContainsKey(k)))}; alignment {file.Alignment}; " +
            $"tensor order {(file.Tensors.Select(t => t.Name).SequenceEqual(before.Tensors.Select(t => t.Name)) ? "unchanged" : "changed")}");
        Assert.Equal((uint)type, file.Metadata["general.file_type"]);
        Assert.Equal(2u, file.Metadata["general.quantization_version"]);

        // llama.cpp's choices agree with FrSpec's own quantizer's mix (for the file types `frspec quantize` writes)
        if (Enum.IsDefined(typeof(QuantizedFileType), (int)type))
            foreach (var t in file.Tensors)
            {
                var want = QuantizationMix.IsQuantized(t.Name, t.Dims.Length)
                    ? QuantizationMix.TypeOf((QuantizedFileType)(int)type, t.Name, (long)t.Dims[0], spec.Layers, hasOutput: !spec.TieWordEmbeddings) : GgmlType.F32;
                Assert.True((uint)want == t.Type, $"{t.Name}: llama.cpp chose {GgmlTypeInfo.Name(t.Type)}, FrSpec's mix {want}");
            }

        if (file.Tensors.FirstOrDefault(t => !GgmlTypeInfo.IsSupported(t.Type)) is { } unsupported)
        {
            var e = Assert.Throws<FrSpecException>(() => Transformer.Load(gguf));
            output.WriteLine($"FrSpec refuses: {e.Message}");
            Assert.DoesNotContain('\n', e.Message);
            Assert.Contains($"'{unsupported.Name}'", e.Message);
            Assert.Contains($"{GgmlTypeInfo.Name(unsupported.Type)} ({unsupported.Type})", e.Message);
            return;
        }

        // the tokenizer: the same as that of the BF16 file llama.cpp read (whose equivalence to tokenizer.json is
        // GgufTokenizerTests' subject; this tiny tokenizer.json has no byte-level pre-tokenizer, so it differs on spaces)
        var exported = TokenizerLoader.Load(source);
        var fromFile = TokenizerLoader.Load(gguf);
        Assert.Equal(exported.VocabSize, fromFile.VocabSize);
        for (int id = 0; id < exported.VocabSize; id++) Assert.Equal((exported.IdToToken(id), exported.IsSpecial(id)), (fromFile.IdToToken(id), fromFile.IsSpecial(id)));
        Assert.Equal((exported.BosId, exported.EosId), (fromFile.BosId, fromFile.EosId));
        foreach (var text in new[] { "hello world", "t1t2 t3t4<|eot|>", "<|begin|>t5 t7 t295", "" })
            Assert.Equal(exported.Encode(text, addSpecialTokens: true), fromFile.Encode(text, addSpecialTokens: true));
        var chat = ChatTemplateSource.FromGguf(gguf);
        Assert.NotNull(chat);
        Assert.Equal((Template, "<|begin|>", "<|eot|>"), (chat.Template, chat.BosToken, chat.EosToken));

        GgufQuantizeTests.AssertSameLogitsAsLlamaCpp(output, $"{family} {type}", gguf, spec);
    }

    private static bool SameValue(object a, object b) =>
        a is object[] x && b is object[] y ? x.SequenceEqual(y) : a.Equals(b);
}
