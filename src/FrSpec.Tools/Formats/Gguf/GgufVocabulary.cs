using System.Text.Json;
using FrSpec.Model;

namespace FrSpec.Formats.Gguf;

/// <summary>
/// A byte-level BPE tokenizer (Hugging Face tokenizer.json, model type BPE) in the shape GGUF's "gpt2" tokenizer
/// metadata wants: one token string and type per id in id order (ids the tokenizer lacks become "[PAD{id}]", unused),
/// merges as "left right" strings, and the BOS/EOS ids.
/// </summary>
public sealed class GgufVocabulary
{
    public const long MaxFileBytes = 512L << 20;

    public required string[] Tokens { get; init; }
    public required int[] TokenTypes { get; init; }
    public required string[] Merges { get; init; }
    public int? BosId { get; init; }
    public int? EosId { get; init; }
    public int? PadId { get; init; }
    /// <summary>
    /// Whether to prepend BOS: tokenizer_config.json's add_bos_token, else true when the post-processor template inserts
    /// the BOS token, else unknown (null: the key is left out and llama.cpp applies its default for the pre-tokenizer).
    /// </summary>
    public bool? AddBos { get; init; }

    /// <summary>
    /// Reads <paramref name="tokenizerJson"/> (and tokenizer_config.json beside it, if any) for a model with
    /// as many embedding rows as the config's vocab_size. BOS/EOS come from tokenizer_config.json's bos_token/eos_token,
    /// else from config.json's ids.
    /// </summary>
    public static GgufVocabulary Load(string tokenizerJson, ModelConfig config)
    {
        if (!File.Exists(tokenizerJson)) throw new FrSpecException($"{tokenizerJson}: tokenizer.json not found (the GGUF needs the tokenizer; pass --tokenizer)");
        using (var doc = JsonInput.ReadFile(tokenizerJson, "tokenizer.json", MaxFileBytes))
        {
            string cfgPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(tokenizerJson))!, "tokenizer_config.json");
            using var cfg = File.Exists(cfgPath) ? JsonInput.ReadFile(cfgPath, "tokenizer config") : null;
            return Parse(doc.RootElement, cfg?.RootElement, config, tokenizerJson);
        }
    }

    public static GgufVocabulary Parse(JsonElement root, JsonElement? tokenizerConfig, ModelConfig config, string file)
    {
        int vocabSize = config.VocabSize;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new FrSpecException($"{file}: field 'model' is missing");
        string type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        if (type != "BPE") throw new FrSpecException($"{file}: model.type is '{type}'; the GGUF exporter handles byte-level BPE tokenizers only");
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw new FrSpecException($"{file}: field 'model.vocab' is missing");

        var tokens = new string?[vocabSize];
        var types = new int[vocabSize];
        foreach (var p in vocab.EnumerateObject())
        {
            int id = p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out int i) ? i : -1;
            if (id < 0) throw new FrSpecException($"{file}: model.vocab['{p.Name}'] is not a token id");
            if (id >= vocabSize) throw new FrSpecException($"{file}: model.vocab['{p.Name}'] = {id} is outside the model's vocab_size {vocabSize}");
            tokens[id] = p.Name;
            types[id] = (int)GgufTokenType.Normal;
        }

        var byContent = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var a in added.EnumerateArray())
            {
                if (a.ValueKind != JsonValueKind.Object || !a.TryGetProperty("id", out var idEl) || !idEl.TryGetInt32(out int id)
                    || !a.TryGetProperty("content", out var c) || c.ValueKind != JsonValueKind.String)
                    throw new FrSpecException($"{file}: an entry of 'added_tokens' lacks an integer 'id' or a string 'content'");
                if (id < 0 || id >= vocabSize) throw new FrSpecException($"{file}: added token id {id} is outside the model's vocab_size {vocabSize}");
                string content = c.GetString()!;
                bool special = a.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                tokens[id] = content;
                types[id] = (int)(special || LooksSpecial(content) ? GgufTokenType.Control : GgufTokenType.UserDefined);
                byContent[content] = id;
            }
        }
        var finalTokens = new string[vocabSize];
        for (int i = 0; i < vocabSize; i++)
        {
            if (tokens[i] is string tok) finalTokens[i] = tok;
            else { finalTokens[i] = $"[PAD{i}]"; types[i] = (int)GgufTokenType.Unused; }
        }

        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var m) && m.ValueKind == JsonValueKind.Array)
        {
            int k = 0;
            foreach (var e in m.EnumerateArray())
            {
                // Older files: "left right"; newer (tokenizers >= 0.20): ["left", "right"].
                if (e.ValueKind == JsonValueKind.String) merges.Add(e.GetString()!);
                else if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 2
                         && e[0].ValueKind == JsonValueKind.String && e[1].ValueKind == JsonValueKind.String)
                    merges.Add(e[0].GetString() + " " + e[1].GetString());
                else throw new FrSpecException($"{file}: model.merges[{k}] is neither \"a b\" nor [\"a\", \"b\"]");
                k++;
            }
        }

        int? Resolve(string field)
        {
            if (tokenizerConfig is not { ValueKind: JsonValueKind.Object } tc || !tc.TryGetProperty(field, out var v)) return null;
            string? content = v.ValueKind == JsonValueKind.String ? v.GetString()
                : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var cc) && cc.ValueKind == JsonValueKind.String ? cc.GetString() : null;
            if (content == null) return null;
            if (byContent.TryGetValue(content, out int id)) return id;
            return vocab.TryGetProperty(content, out var vid) && vid.TryGetInt32(out int id2) ? id2 : null;
        }

        int? bos = Resolve("bos_token") ?? config.BosTokenId;
        int? eos = Resolve("eos_token") ?? (config.EosTokenIds.Count > 0 ? config.EosTokenIds[0] : null);
        int? pad = Resolve("pad_token");
        foreach (var (name, id) in new[] { ("bos", bos), ("eos", eos), ("pad", pad) })
            if (id is int x && (x < 0 || x >= vocabSize)) throw new FrSpecException($"{file}: {name} token id {x} is outside the vocabulary of {vocabSize}");

        bool? addBos = null;
        if (tokenizerConfig is { ValueKind: JsonValueKind.Object } tcfg && tcfg.TryGetProperty("add_bos_token", out var ab)
            && ab.ValueKind is JsonValueKind.True or JsonValueKind.False)
            addBos = ab.GetBoolean();
        else if (bos is int b && root.TryGetProperty("post_processor", out var pp) && pp.ValueKind == JsonValueKind.Object
                 && ContainsString(pp, finalTokens[b], depth: 0))
            addBos = true;

        return new GgufVocabulary
        {
            Tokens = finalTokens, TokenTypes = types, Merges = merges.ToArray(),
            BosId = bos, EosId = eos, PadId = pad, AddBos = addBos,
        };
    }

    private static bool ContainsString(JsonElement e, string value, int depth)
    {
        if (depth > 32) return false;
        return e.ValueKind switch
        {
            JsonValueKind.String => e.GetString() == value,
            JsonValueKind.Array => e.EnumerateArray().Any(x => ContainsString(x, value, depth + 1)),
            JsonValueKind.Object => e.EnumerateObject().Any(p => p.Name == value || ContainsString(p.Value, value, depth + 1)),
            _ => false,
        };
    }

    /// <summary>Added tokens that are not flagged special but are written like control tokens (as llama.cpp's converter treats them).</summary>
    private static bool LooksSpecial(string token) =>
        (token.StartsWith("<|", StringComparison.Ordinal) && token.EndsWith("|>", StringComparison.Ordinal) && token.Length > 4)
        || token is "<pad>" or "<mask>" or "<unk>" or "<s>" or "</s>";
}
