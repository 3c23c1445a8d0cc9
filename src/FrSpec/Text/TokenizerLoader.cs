using System.Text.Json;

namespace FrSpec.Text;

/// <summary>Entry point for loading Hugging Face tokenizers.</summary>
public static class TokenizerLoader
{
    /// <summary>Largest tokenizer.json accepted (real ones are under 20 MB).</summary>
    private const long MaxFileBytes = 512L << 20;

    /// <summary>Largest id accepted (real vocabularies stay under 300,000): a corrupt id must not size a giant table.</summary>
    private const int MaxId = 4_000_000;

    /// <summary>
    /// Loads a Hugging Face tokenizer.json (or the tokenizer.json inside a model directory). A tokenizer_config.json
    /// beside it supplies bos/eos/pad tokens and clean_up_tokenization_spaces. A .gguf file gives the tokenizer.json
    /// beside it, else the tokenizer of its tokenizer.ggml.* metadata (docs/gguf.md).
    /// </summary>
    public static ITokenizer Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Formats.Gguf.GgufFile.IsGgufPath(path)) return GgufTokenizer.Load(path);
        var file = Directory.Exists(path) ? Path.Combine(path, "tokenizer.json") : path;
        if (!File.Exists(file))
            throw new FrSpecException(Directory.Exists(path)
                ? $"{path}: no tokenizer.json in this directory (only Hugging Face tokenizer.json files are supported, not tokenizer.model)"
                : $"{path}: tokenizer file not found");
        using (var doc = Formats.JsonInput.ReadFile(file, "tokenizer.json", MaxFileBytes))
        {
            var configPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, "tokenizer_config.json");
            using (var config = File.Exists(configPath) ? Formats.JsonInput.ReadFile(configPath, "tokenizer config") : null)
            {
                try { return Build(doc.RootElement, file, config?.RootElement); }
                catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or KeyNotFoundException or IndexOutOfRangeException or OverflowException)
                {
                    // A field of an unexpected JSON type or a bad regex deep inside the file.
                    throw new FrSpecException($"{file}: unexpected content ({e.Message})", e);
                }
            }
        }
    }

    private static HfTokenizer Build(JsonElement root, string file, JsonElement? config)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new FrSpecException($"{file}: top level is not a JSON object");
        var model = Json.Prop(root, "model");
        var type = Json.OptStr(model, "type") ?? (Json.Prop(model, "merges").ValueKind == JsonValueKind.Array ? "BPE" : null);
        if (type != "BPE")
            throw new FrSpecException($"{file}: model.type '{type ?? "(missing)"}' is not supported (only BPE: Llama, Qwen, Mistral, GPT-2 style)");
        foreach (var field in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (Json.OptStr(model, field) is { Length: > 0 } v)
                throw new FrSpecException($"{file}: model.{field} '{v}' is not supported");
        if (Json.Prop(model, "dropout").ValueKind == JsonValueKind.Number && Json.Prop(model, "dropout").GetDouble() > 0)
            throw new FrSpecException($"{file}: model.dropout is not supported (encoding would be random)");

        var vocabNode = Json.Prop(model, "vocab");
        if (vocabNode.ValueKind != JsonValueKind.Object) throw new FrSpecException($"{file}: model.vocab is missing or not an object");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        int maxId = -1;
        foreach (var kv in vocabNode.EnumerateObject())
        {
            if (kv.Value.ValueKind != JsonValueKind.Number || !kv.Value.TryGetInt32(out int id) || id < 0 || id > MaxId)
                throw new FrSpecException($"{file}: model.vocab[\"{kv.Name}\"] is not a valid id");
            vocab[kv.Name] = id;
            maxId = Math.Max(maxId, id);
        }

        var merges = new List<(string, string)>();
        foreach (var m in Json.Array(model, "merges", file, "model"))
        {
            if (m.ValueKind == JsonValueKind.String)
            {
                var s = m.GetString()!;
                int sp = s.IndexOf(' ', 1);
                if (sp <= 0) throw new FrSpecException($"{file}: model.merges entry \"{s}\" is not \"A B\"");
                merges.Add((s[..sp], s[(sp + 1)..]));
            }
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2 && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
                merges.Add((m[0].GetString()!, m[1].GetString()!));
            else throw new FrSpecException($"{file}: model.merges entry {m.GetRawText()} is neither \"A B\" nor [\"A\", \"B\"]");
        }

        var added = new List<AddedToken>();
        var addedNode = Json.Prop(root, "added_tokens");
        if (addedNode.ValueKind == JsonValueKind.Array)
            foreach (var a in addedNode.EnumerateArray())
            {
                int id = Json.Int(a, "id", -1);
                var content = Json.OptStr(a, "content");
                if (id < 0 || id > MaxId || content is null) throw new FrSpecException($"{file}: added_tokens entry {a.GetRawText()} lacks id or content");
                added.Add(new AddedToken(id, content, Json.Bool(a, "special", false), Json.Bool(a, "lstrip", false),
                    Json.Bool(a, "rstrip", false), Json.Bool(a, "single_word", false), Json.Bool(a, "normalized", false)));
                maxId = Math.Max(maxId, id);
            }

        var idToToken = new string?[maxId + 1];
        foreach (var (tok, id) in vocab) idToToken[id] = tok;
        var addedById = new AddedToken?[maxId + 1];
        var addedByContent = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var a in added)
        {
            idToToken[a.Id] = a.Content;
            addedById[a.Id] = a;
            addedByContent[a.Content] = a.Id;
        }

        var bpe = new BpeModel(vocab, merges, Json.OptStr(model, "unk_token"), Json.Bool(model, "byte_fallback", false),
            Json.Bool(model, "fuse_unk", false), Json.Bool(model, "ignore_merges", false));

        bool byteLevel = false;
        var pre = PreTokenizerStep.FromJson(Json.Prop(root, "pre_tokenizer"), file, ref byteLevel);
        var (prefix, suffix) = PostProcessor(Json.Prop(root, "post_processor"), file, vocab, addedByContent);
        var decoderNode = Json.Prop(root, "decoder");
        var decoder = decoderNode.ValueKind == JsonValueKind.Object ? DecoderStep.FromJson(decoderNode, file) : null;

        char? safeSplit = null;
        if (!byteLevel && pre.Count == 0 && !Json.Bool(model, "ignore_merges", false) && vocab.Keys.Any(k => k.Length > 1 && k[0] == '\u2581'))
        {
            bool safe = true;
            foreach (var k in vocab.Keys)
                for (int i = 1; i < k.Length && safe; i++)
                    if (k[i] == '\u2581' && k[i - 1] != '\u2581') safe = false;
            if (safe) safeSplit = '\u2581';
        }

        int? Lookup(string? token) => token is null ? null
            : addedByContent.TryGetValue(token, out int i) ? i : vocab.TryGetValue(token, out int j) ? j : null;
        var cfg = config ?? default;
        return new HfTokenizer
        {
            SourcePath = file,
            Model = bpe,
            IdToTokenTable = idToToken,
            AddedByContent = addedByContent,
            AddedById = addedById,
            RawMatcher = new AddedTokenMatcher(added.Where(a => !a.Normalized || a.Special)),
            NormalizedMatcher = new AddedTokenMatcher(added.Where(a => a.Normalized && !a.Special)),
            Normalizer = TextNormalizer.FromJson(Json.Prop(root, "normalizer"), file),
            PreTokenizer = pre,
            ByteLevel = byteLevel,
            PrefixIds = prefix,
            SuffixIds = suffix,
            Decoder = decoder,
            SafeSplitChar = safeSplit,
            // transformers' default is now False when the config does not say.
            CleanUpTokenizationSpaces = Json.Bool(cfg, "clean_up_tokenization_spaces", false),
            BosId = Lookup(Json.TokenContent(cfg, "bos_token")),
            EosId = Lookup(Json.TokenContent(cfg, "eos_token")),
            PadId = Lookup(Json.TokenContent(cfg, "pad_token")),
        };
    }

    /// <summary>Ids the post-processor puts before and after a single sequence.</summary>
    private static (int[] Prefix, int[] Suffix) PostProcessor(JsonElement node, string file,
        Dictionary<string, int> vocab, Dictionary<string, int> added)
    {
        var prefix = new List<int>();
        var suffix = new List<int>();
        Collect(node, file, vocab, added, prefix, suffix);
        return (prefix.ToArray(), suffix.ToArray());
    }

    private static void Collect(JsonElement node, string file, Dictionary<string, int> vocab, Dictionary<string, int> added,
        List<int> prefix, List<int> suffix)
    {
        if (node.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return;
        var type = Json.Str(node, "type", file, "post_processor");
        switch (type)
        {
            case "ByteLevel":
                return;   // only adjusts offsets
            case "Sequence":
                foreach (var n in Json.Array(node, "processors", file, "post_processor.Sequence")) Collect(n, file, vocab, added, prefix, suffix);
                return;
            case "TemplateProcessing":
            {
                var specials = Json.Prop(node, "special_tokens");
                bool seenA = false;
                foreach (var item in Json.Array(node, "single", file, "post_processor.TemplateProcessing"))
                {
                    if (Json.Prop(item, "Sequence").ValueKind == JsonValueKind.Object) { seenA = true; continue; }
                    var name = Json.OptStr(Json.Prop(item, "SpecialToken"), "id")
                               ?? throw new FrSpecException($"{file}: post_processor.single item {item.GetRawText()} is not understood");
                    var ids = Json.Prop(Json.Prop(specials, name), "ids");
                    var target = seenA ? suffix : prefix;
                    if (ids.ValueKind == JsonValueKind.Array) foreach (var i in ids.EnumerateArray()) target.Add(i.GetInt32());
                    else if (added.TryGetValue(name, out int a) || vocab.TryGetValue(name, out a)) target.Add(a);
                    else throw new FrSpecException($"{file}: post_processor special token '{name}' has no id");
                }
                return;
            }
            case "RobertaProcessing":
            case "BertProcessing":
            {
                var cls = Json.Prop(node, "cls");
                var sep = Json.Prop(node, "sep");
                if (cls.ValueKind == JsonValueKind.Array && cls.GetArrayLength() == 2) prefix.Add(cls[1].GetInt32());
                if (sep.ValueKind == JsonValueKind.Array && sep.GetArrayLength() == 2) suffix.Insert(0, sep[1].GetInt32());
                return;
            }
            default:
                throw new FrSpecException($"{file}: post_processor type '{type}' is not supported (supported: ByteLevel, Sequence, TemplateProcessing, RobertaProcessing, BertProcessing)");
        }
    }
}
