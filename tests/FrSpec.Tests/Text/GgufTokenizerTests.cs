using System.Collections.Concurrent;
using FrSpec.Formats.Gguf;
using FrSpec.Numerics;
using FrSpec.Synthesis;
using FrSpec.Tests.Formats;
using FrSpec.Text;

namespace FrSpec.Tests.Text;

/// <summary>
/// The tokenizer built from a GGUF's tokenizer.ggml.* metadata (files written by the exporter from the real Llama-3 and
/// Qwen3 tokenizer.json) tokenizes the parity strings exactly as the tokenizer.json path does, decodes identically,
/// and has the same vocabulary and BOS/EOS/pad ids. A tokenizer.json beside the file wins; a foreign one is an error.
/// </summary>
public class GgufTokenizerTests
{
    private static readonly ConcurrentDictionary<string, Lazy<string>> Files = new();

    /// <summary>A one-layer, 16-wide model with the real vocabulary, exported to GGUF (once per process).</summary>
    private static string GgufFor(string name) => Files.GetOrAdd(name, n => new Lazy<string>(() =>
    {
        bool llama = n == "llama3";
        var spec = new SynthSpec
        {
            Family = llama ? "llama3" : "qwen2", HiddenSize = 16, IntermediateSize = 32, Layers = 1, Heads = 2, KvHeads = 1,
            VocabSize = llama ? 128256 : 151936, TieWordEmbeddings = true,
            BosTokenId = llama ? 128000 : null, EosTokenIds = llama ? [128001] : [151645],
        };
        return GgufFixtures.Export(spec, DType.BF16, TestAssets.TokenizerJson(n)).Gguf;
    })).Value;

    /// <summary>Added tokens not flagged special that the exporter (like llama.cpp's converter) marks as control tokens because they are written &lt;|…|&gt;.</summary>
    private static readonly Dictionary<string, string[]> MarkedControl = new()
    {
        ["llama3"] = [],
        ["qwen3"] = ["<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"],
    };

    [Theory]
    [InlineData("llama3", 1)]
    [InlineData("qwen3", 2)]
    public void TokenizesAndDecodesLikeTheTokenizerJson(string name, int seed)
    {
        var json = TokenizerLoader.Load(TestAssets.TokenizerDir(name));
        var gguf = TokenizerLoader.Load(GgufFor(name));
        Assert.StartsWith(GgufFor(name), gguf.ToString()!.Replace("HfTokenizer(", ""));

        Assert.Equal(json.VocabSize, gguf.VocabSize);
        Assert.Equal((json.BosId, json.EosId, ((HfTokenizer)json).PadId), (gguf.BosId, gguf.EosId, ((HfTokenizer)gguf).PadId));
        for (int id = 0; id < json.VocabSize; id++) Assert.Equal(json.IdToToken(id), gguf.IdToToken(id));
        var specialDiff = Enumerable.Range(0, json.VocabSize).Where(id => json.IsSpecial(id) != gguf.IsSpecial(id)).ToHashSet();
        Assert.Equal(MarkedControl[name].Order(), specialDiff.Select(id => json.IdToToken(id)!).Order());

        var gen = new TextGenerator(seed);
        var texts = Enumerable.Range(0, 2500).Select(_ => gen.Next()).ToList();
        texts.AddRange(["", " ", "\n", "a", "  leading", "trailing  ", "<s>", "<|eot_id|><|eot_id|>", "x<|im_end|>\n",
            new string(' ', 1000) + "x", new string('!', 3000), string.Concat(Enumerable.Repeat("ab", 2000))]);
        var rng = new Random(seed);
        int[]? bos = name == "llama3" ? [128000] : [];   // llama-bpe files add BOS unless add_bos_token says otherwise (llama.cpp's rule)
        foreach (var text in texts)
        {
            var ids = json.Encode(text);
            Assert.Equal(ids, gguf.Encode(text));
            Assert.Equal(bos.Concat(ids), gguf.Encode(text, addSpecialTokens: true));
            // Decode the encoding cut at a random place (broken UTF-8) plus random ids, special ones included.
            var seq = ids.Take(rng.Next(ids.Length + 1)).Concat(Enumerable.Range(0, 3).Select(_ => rng.Next(json.VocabSize))).ToArray();
            Assert.Equal(json.Decode(seq), gguf.Decode(seq));
            if (!seq.Any(specialDiff.Contains)) Assert.Equal(json.Decode(seq, skipSpecialTokens: true), gguf.Decode(seq, skipSpecialTokens: true));
        }
    }

    [Fact]
    public void TokenizerJsonBesideTheFileWinsAndMustMatchIt()
    {
        string dir = TestModels.NewTempDir();
        string gguf = Path.Combine(dir, "llama.gguf");
        File.Copy(GgufFor("llama3"), gguf);
        foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(TestAssets.TokenizerDir("llama3"), f), Path.Combine(dir, f));
        var tok = TokenizerLoader.Load(gguf);
        Assert.Equal([9906, 1917], tok.Encode("Hello world", addSpecialTokens: true));   // this tokenizer.json's post-processor adds no BOS
        Assert.Equal([128000, 9906, 1917], TokenizerLoader.Load(GgufFor("llama3")).Encode("Hello world", addSpecialTokens: true));

        File.Copy(TestAssets.TokenizerJson("qwen3"), Path.Combine(dir, "tokenizer.json"), overwrite: true);
        var e = Assert.Throws<FrSpecException>(() => TokenizerLoader.Load(gguf));
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Contains("llama.gguf", e.Message);
    }

    [Theory]
    [InlineData("tokenizer.ggml.model", "llama", "'llama' is not supported")]
    [InlineData("tokenizer.ggml.pre", "falcon", "'falcon' is not supported")]
    public void UnsupportedTokenizerKindsAreNamed(string key, string value, string expected)
    {
        var w = new GgufWriter();
        w.AddString("tokenizer.ggml.model", key == "tokenizer.ggml.model" ? value : "gpt2");
        w.AddString("tokenizer.ggml.pre", key == "tokenizer.ggml.pre" ? value : "llama-bpe");
        w.AddStrings("tokenizer.ggml.tokens", ["a", "b", "ab"]);
        w.AddStrings("tokenizer.ggml.merges", ["a b"]);
        string path = Path.Combine(TestModels.NewTempDir(), "t.gguf");
        w.Write(path);
        var e = Assert.Throws<FrSpecException>(() => TokenizerLoader.Load(path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void ChatTemplateAndItsTokensComeFromTheMetadata()
    {
        string template = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Text", "templates", "qwen2.5.jinja"));
        var w = new GgufWriter();
        w.AddStrings("tokenizer.ggml.tokens", ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]);
        w.AddUInt32("tokenizer.ggml.bos_token_id", 0);
        w.AddUInt32("tokenizer.ggml.eos_token_id", 2);
        w.AddString("tokenizer.chat_template", template);
        string path = Path.Combine(TestModels.NewTempDir(), "t.gguf");
        w.Write(path);
        var src = ChatTemplateSource.FromGguf(path)!;
        Assert.Equal(template, src.Template);
        Assert.Equal(("<|endoftext|>", "<|im_end|>"), (src.BosToken, src.EosToken));
        Assert.Contains(path, src.Origin);
        var rendered = ChatTemplate.FromJinja(src.Template, src.BosToken, src.EosToken, src.Origin).Render([new ChatMessage("user", "Hi")], addGenerationPrompt: true);
        Assert.StartsWith("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud.", rendered);
        Assert.EndsWith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", rendered);
        // the exporter carries the template of the tokenizer_config.json beside the tokenizer, as llama.cpp's converter does
        using var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(TestAssets.TokenizerDir("qwen3"), "tokenizer_config.json")));
        Assert.Equal(config.RootElement.GetProperty("chat_template").GetString(), ChatTemplateSource.FromGguf(GgufFor("qwen3"))!.Template);
    }
}
