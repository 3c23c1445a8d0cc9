using System.Text.Json.Nodes;
using FrSpec.Text;

namespace FrSpec.Tests.Text;

/// <summary>Damaged tokenizer files must give a FrSpecException (or load and work), never another exception.</summary>
public class TokenizerLoaderFuzzTests
{
    private const string Small = """
    {
      "added_tokens": [{"id": 5, "content": "<s>", "special": true, "lstrip": false, "rstrip": false, "single_word": false, "normalized": false}],
      "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
      "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},
      "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                         "special_tokens": {"<s>": {"id": "<s>", "ids": [5], "tokens": ["<s>"]}}},
      "decoder": {"type": "Sequence", "decoders": [{"type": "ByteLevel"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
      "model": {"type": "BPE", "unk_token": "a", "byte_fallback": true, "vocab": {"a": 0, "b": 1, "ab": 2, "c": 3, "<0x41>": 4}, "merges": ["a b", ["ab", "c"]]}
    }
    """;

    [Theory]
    [InlineData(9)]
    [InlineData(10)]
    [InlineData(11)]
    [InlineData(12)]
    public void MutatedFilesFailCleanlyOrWork(int seed)
    {
        var dir = Path.Combine(Path.GetTempPath(), "frspec-fuzz-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "tokenizer.json");
        var rng = new Random(seed);
        JsonNode?[] replacements = [null, 7, -3, 1e30, "x", "", true, new JsonArray(), new JsonObject(), new JsonArray(1, "a"), new JsonObject { ["type"] = "Nope" }, "\u2581", new JsonObject { ["String"] = "" }, new JsonObject { ["Regex"] = "(" }];
        int loaded = 0;
        try
        {
            for (int k = 0; k < 600; k++)
            {
                var root = JsonNode.Parse(Small)!;
                var nodes = new List<(JsonNode Parent, object Key)>();
                Collect(root, nodes);
                for (int m = 0; m < 1 + rng.Next(3); m++)
                {
                    var (parent, key) = nodes[rng.Next(nodes.Count)];
                    var value = replacements[rng.Next(replacements.Length)]?.DeepClone();
                    if (parent is JsonObject o) o[(string)key] = value;
                    else if (parent is JsonArray a && (int)key < a.Count) a[(int)key] = value;
                }
                File.WriteAllText(file, k % 50 == 49 ? root.ToJsonString()[..rng.Next(root.ToJsonString().Length)] : root.ToJsonString());
                ITokenizer tok;
                try { tok = TokenizerLoader.Load(file); }
                catch (FrSpecException) { continue; }
                loaded++;
                var ids = tok.Encode("ab c <s>ab\u00e9", addSpecialTokens: true);
                tok.Decode(ids);
                tok.Decode([0, 1, 2, 3, 4, 5, 99, -1]);
                tok.DecodeToBytes(ids);
            }
        }
        finally { Directory.Delete(dir, true); }
        Assert.True(loaded > 20, $"only {loaded} mutated files loaded: the mutations are too destructive to exercise encoding");
    }

    private static void Collect(JsonNode node, List<(JsonNode, object)> into)
    {
        if (node is JsonObject o)
            foreach (var (k, v) in o.ToList()) { into.Add((o, k)); if (v is not null) Collect(v, into); }
        else if (node is JsonArray a)
            for (int i = 0; i < a.Count; i++) { into.Add((a, i)); if (a[i] is { } v) Collect(v, into); }
    }
}
