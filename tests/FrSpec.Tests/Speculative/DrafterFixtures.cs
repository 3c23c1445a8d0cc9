using System.Text.Json.Nodes;
using FrSpec.Numerics;
using FrSpec.Synthesis;

namespace FrSpec.Tests.Speculative;

/// <summary>
/// Synthesized pairs for every drafter: small targets with a tokenizer (a draft model is checked against it), draft
/// models, Medusa heads and EAGLE-3 heads in both published layouts. Written once per test run.
/// </summary>
internal static class DrafterFixtures
{
    private static readonly object Gate = new();
    private static readonly Dictionary<string, string> Made = new();

    private static string Once(string key, Func<string, string> make)
    {
        lock (Gate)
        {
            if (Made.TryGetValue(key, out var d)) return d;
            return Made[key] = make(TinyModels.NewDir(key));
        }
    }

    /// <summary>
    /// A byte-level BPE tokenizer of <paramref name="vocab"/> ids: "t0".."t{vocab−3}", then the specials "&lt;|bos|&gt;"
    /// (vocab − 2, added in front of encodings) and "&lt;|eos|&gt;" (vocab − 1, the models' EOS). Variants for the
    /// compatibility tests: a renamed token, SentencePiece-style (no byte-level pre-tokenizer), no BOS added, and
    /// <paramref name="extra"/> plain tokens after the specials (a larger vocabulary with the same special ids).
    /// </summary>
    public static void WriteTokenizer(string dir, int vocab, (int Id, string Text)? rename = null, bool byteLevel = true, bool addBos = true, int extra = 0)
    {
        var tokens = new JsonObject();
        for (int i = 0; i < vocab - 2; i++) tokens[rename is var (id, text) && id == i ? text : $"t{i}"] = i;
        for (int i = 0; i < extra; i++) tokens[$"x{i}"] = vocab + i;
        var tok = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(
                new JsonObject { ["id"] = vocab - 2, ["content"] = "<|bos|>", ["special"] = true },
                new JsonObject { ["id"] = vocab - 1, ["content"] = "<|eos|>", ["special"] = true }),
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = tokens, ["merges"] = new JsonArray() },
        };
        if (byteLevel) tok["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true };
        if (addBos)
            tok["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<|bos|>" } }, new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A" } }),
            };
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tok.ToJsonString());
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"bos_token":"<|bos|>","eos_token":"<|eos|>"}""");
    }

    /// <summary>A target (f32, so tree and sequential passes agree bit for bit) with <see cref="WriteTokenizer"/>'s tokenizer.</summary>
    public static string Target(string family, int vocab, int layers, int hidden, ulong seed, bool tied = false) =>
        Once($"target-{family}-{vocab}-{layers}-{hidden}-{tied}-s{seed}", dir =>
        {
            ModelSynthesizer.Write(TinyModels.Spec(family, tied, vocab, layers, hidden), dir, DType.F32, seed);
            WriteTokenizer(dir, vocab);
            return dir;
        });

    /// <summary>A draft model of <paramref name="vocab"/> ids (2 layers, hidden 32) whose tokenizer <paramref name="tokenizer"/> writes.</summary>
    public static string Draft(string name, string family, int vocab, ulong seed, Action<string> tokenizer) =>
        Once($"draft-{name}-{family}-{vocab}-s{seed}", dir =>
        {
            ModelSynthesizer.Write(TinyModels.Spec(family, false, vocab, 2, 32), dir, DType.F32, seed);
            tokenizer(dir);
            return dir;
        });

    /// <summary>A copy of a model directory: a draft model that drafts exactly what the target would.</summary>
    public static string Copy(string dir) => Once($"copy-{Path.GetFileName(dir)}", copy =>
    {
        foreach (var f in Directory.GetFiles(dir)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        return copy;
    });

    /// <summary>Random Medusa heads whose LM heads start from the target's (Medusa's initialisation).</summary>
    public static string Medusa(string targetDir, int heads, int layers, string format, ulong seed) =>
        Once($"medusa-{Path.GetFileName(targetDir)}-{heads}-{layers}-{format}-s{seed}", dir =>
        {
            MedusaSynthesizer.Write(targetDir, dir, heads, layers, format, seed);
            return dir;
        });

    /// <summary>A random EAGLE-3 head in a published layout.</summary>
    public static string Eagle3(string targetDir, Eagle3Layout layout, ulong seed, int? draftVocab = null, int[]? targetLayers = null) =>
        Once($"eagle3-{Path.GetFileName(targetDir)}-{layout}-{draftVocab}-{string.Join("_", targetLayers ?? [])}-s{seed}", dir =>
        {
            Eagle3Synthesizer.Write(targetDir, dir, layout, seed, draftVocab, targetLayers);
            return dir;
        });
}
