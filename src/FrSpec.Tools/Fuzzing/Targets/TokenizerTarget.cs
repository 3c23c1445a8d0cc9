using System.Text.Json.Nodes;
using FrSpec.Fuzzing.Mutators;
using FrSpec.Text;

namespace FrSpec.Fuzzing.Targets;

/// <summary>tokenizer.json: model, vocabulary, merges, added tokens, normalizer, pre-tokenizer, post-processor, decoder.</summary>
public sealed class TokenizerTarget : FuzzTarget
{
    private static readonly JsonMutator Tokenizer = new(new Dictionary<string, JsonNode?[]>
    {
        ["type"] = ["BPE", "Unigram", "WordPiece", "Sequence", "Split", "ByteLevel", "Metaspace", "Digits", "WhitespaceSplit", "NFC", "NFD", "NFKC",
            "Lowercase", "Prepend", "Replace", "Strip", "TemplateProcessing", "RobertaProcessing", "Fuse", "ByteFallback", ""],
        ["Regex"] = ["(a+)+$", "(", "", ".*", "\\s+", "(?<=a)b", "\\p{L}+", PatternSplitter.Gpt2Pattern, PatternSplitter.Qwen2Pattern, "[^\\r\\n]{0,}?"],
        ["String"] = ["", " ", "\u2581", "aa"],
        ["behavior"] = ["Isolated", "Removed", "MergedWithPrevious", "MergedWithNext", "Contiguous", "Bogus"],
        ["invert"] = [true, "yes"],
        ["id"] = [-1, 0, 255, 299, 300, 4_000_000, 4_000_001, int.MaxValue, "296"],
        ["ids"] = [new JsonArray(-1), new JsonArray(int.MaxValue), new JsonArray(), new JsonArray("a"), 5],
        ["content"] = ["", "a", "<|im_start|>", "\u0000", "hello", new string('x', 5000)],
        ["special"] = [false, "yes"],
        ["normalized"] = [true],
        ["lstrip"] = [true], ["rstrip"] = [true], ["single_word"] = [true],
        ["replacement"] = ["", "\u2581", "ab"],
        ["prepend_scheme"] = ["always", "first", "never", "sometimes"],
        ["add_prefix_space"] = [true, "no"],
        ["use_regex"] = [false, true],
        ["unk_token"] = ["a", "<unk>", "", 5],
        ["byte_fallback"] = [true],
        ["fuse_unk"] = [true],
        ["ignore_merges"] = [false],
        ["dropout"] = [0.5, 1, 0, -1],
        ["continuing_subword_prefix"] = ["##"],
        ["merges"] = [new JsonArray(), new JsonArray("a"), new JsonArray("a b c"), new JsonArray(new JsonArray("a")), new JsonArray(1)],
        ["vocab"] = [new JsonObject(), new JsonArray(), new JsonObject { ["a"] = -1 }, new JsonObject { ["a"] = int.MaxValue }],
    });

    public override string Name => "tokenizer";
    public override string Description => "tokenizer.json: load, encode prose/unicode/special tokens, decode (also unknown ids), stream";

    public override void WriteSeed(string dir) => FuzzSeeds.WriteTokenizer(dir);

    public override FuzzCase Mutate(IReadOnlyDictionary<string, byte[]> seed, Random rng) => One("tokenizer.json", Tokenizer.Mutate(seed["tokenizer.json"], rng));

    public override void Exercise(string dir) => Use(TokenizerLoader.Load(dir));

    /// <summary>Encodes and decodes text with every kind of character, and decodes ids inside and outside the vocabulary.</summary>
    internal static void Use(ITokenizer tok)
    {
        foreach (var doc in FuzzSeeds.Documents.Append("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!").Append(""))
        {
            var ids = tok.Encode(doc, addSpecialTokens: true);
            tok.Decode(ids);
            tok.Decode(ids, skipSpecialTokens: true);
            tok.DecodeToBytes(ids);
            var stream = new StreamingDecoder(tok, skipSpecialTokens: true);
            foreach (int id in ids) stream.Push(id);
            stream.Flush();
        }
        tok.Decode([0, 1, 2, 255, 296, 299, 300, -1, int.MaxValue, tok.VocabSize - 1, tok.VocabSize]);
        foreach (int id in new[] { -1, 0, 299, tok.VocabSize }) { tok.IdToToken(id); tok.IsSpecial(id); }
        tok.TokenToId("hello");
        _ = tok.SpecialIds.Count;
    }
}
