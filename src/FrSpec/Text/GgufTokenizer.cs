using System.Text.Json;
using FrSpec.Formats.Gguf;

namespace FrSpec.Text;

/// <summary>
/// The tokenizer of a GGUF file: the tokenizer.json beside the file when there is one, else the engine's byte-level BPE
/// tokenizer built from the tokenizer.ggml.* metadata ("gpt2" model with the "llama-bpe" or "qwen2" pre-tokenizer, or
/// the GPT-2 default), the same <see cref="HfTokenizer"/> the tokenizer.json path builds.
///
/// A tokenizer.json beside the file wins because it carries the whole Hugging Face pipeline (normalizer, split regex,
/// post-processor, decoder, clean-up flag) where GGUF only names a pre-tokenizer; so a model whose pre-tokenizer FrSpec
/// cannot map from GGUF still loads. It must agree with the file's token list (a stray tokenizer.json of another model
/// is an error, not silent garbage).
/// </summary>
internal static class GgufTokenizer
{
    /// <summary>How llama.cpp's named pre-tokenizers map onto the tokenizer.json pipeline.</summary>
    private sealed record PreTokenizer(string? SplitRegex, bool Nfc, bool IgnoreMerges, bool AddBosByDefault, bool CleanUpSpaces);

    private static readonly PreTokenizer Llama3 = new(PatternSplitter.Llama3Pattern, Nfc: false, IgnoreMerges: true, AddBosByDefault: true, CleanUpSpaces: true);
    private static readonly PreTokenizer Qwen2 = new(PatternSplitter.Qwen2Pattern, Nfc: true, IgnoreMerges: false, AddBosByDefault: false, CleanUpSpaces: false);
    private static readonly PreTokenizer Gpt2 = new(null, Nfc: false, IgnoreMerges: false, AddBosByDefault: false, CleanUpSpaces: true);

    private static PreTokenizer? PreTokenizerNamed(string name) => name switch
    {
        "llama-bpe" or "llama3" or "llama-v3" => Llama3,
        "qwen2" or "deepseek-r1-qwen" => Qwen2,
        "default" => Gpt2,
        _ => null,
    };

    public static ITokenizer Load(string ggufPath)
    {
        using var file = GgufFile.Open(ggufPath);
        return Load(file);
    }

    public static ITokenizer Load(GgufFile file)
    {
        string beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file.Path))!, "tokenizer.json");
        if (!File.Exists(beside)) return FromMetadata(file);
        var tokenizer = TokenizerLoader.Load(beside);
        CheckAgrees(tokenizer, file, beside);
        return tokenizer;
    }

    private static void CheckAgrees(ITokenizer tokenizer, GgufFile file, string tokenizerJson)
    {
        var tokens = file.Metadata.Strings("tokenizer.ggml.tokens");
        if (tokens == null) return;
        var types = file.Metadata.Int32s("tokenizer.ggml.token_type");
        if (tokenizer.VocabSize > tokens.Length)
            throw new FrSpecException($"{tokenizerJson}: has {tokenizer.VocabSize} ids but {file.Path} only {tokens.Length} tokens; it belongs to another model (remove it to use the GGUF's own tokenizer)");
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            if (tokenizer.IdToToken(id) is not { } token || types?[id] == (int)GgufTokenType.Unused) continue;
            if (token != tokens[id])
                throw new FrSpecException($"{tokenizerJson}: id {id} is {JsonSerializer.Serialize(token)} but {JsonSerializer.Serialize(tokens[id])} in {file.Path}; it belongs to another model (remove it to use the GGUF's own tokenizer)");
        }
    }

    /// <summary>Builds the tokenizer from tokenizer.ggml.* metadata.</summary>
    public static ITokenizer FromMetadata(GgufFile file)
    {
        var m = file.Metadata;
        string path = file.Path;
        string model = m.String("tokenizer.ggml.model") ?? throw new FrSpecException($"{path}: metadata 'tokenizer.ggml.model' is missing (put the model's tokenizer.json beside the file)");
        if (model != "gpt2")
            throw new FrSpecException($"{path}: tokenizer.ggml.model '{model}' is not supported (only \"gpt2\" byte-level BPE; put the model's tokenizer.json beside the file)");
        string preName = m.String("tokenizer.ggml.pre") ?? "default";
        var pre = PreTokenizerNamed(preName)
            ?? throw new FrSpecException($"{path}: tokenizer.ggml.pre '{preName}' is not supported (supported: llama-bpe, qwen2, default; put the model's tokenizer.json beside the file)");
        var tokens = m.Strings("tokenizer.ggml.tokens") ?? throw new FrSpecException($"{path}: metadata 'tokenizer.ggml.tokens' is missing");
        var types = m.Int32s("tokenizer.ggml.token_type");
        if (types != null && types.Length != tokens.Length)
            throw new FrSpecException($"{path}: tokenizer.ggml.token_type has {types.Length} entries for {tokens.Length} tokens");
        var mergeStrings = m.Strings("tokenizer.ggml.merges") ?? throw new FrSpecException($"{path}: metadata 'tokenizer.ggml.merges' is missing");

        // Normal, byte and unknown tokens form the BPE vocabulary; control and user-defined tokens are added tokens
        // (matched in raw text first; control ones are special); unused ones (padding ids) do not exist.
        var vocab = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        var added = new List<AddedToken>();
        int size = 0;
        for (int id = 0; id < tokens.Length; id++)
        {
            var type = (GgufTokenType)(types?[id] ?? (int)GgufTokenType.Normal);
            switch (type)
            {
                case GgufTokenType.Unused:
                    continue;
                case GgufTokenType.Control:
                case GgufTokenType.UserDefined:
                    added.Add(new AddedToken(id, tokens[id], Special: type == GgufTokenType.Control, false, false, false, Normalized: false));
                    break;
                case GgufTokenType.Normal:
                case GgufTokenType.Byte:
                case GgufTokenType.Unknown:
                    vocab.TryAdd(tokens[id], id);
                    break;
                default:
                    throw new FrSpecException($"{path}: tokenizer.ggml.token_type[{id}] = {(int)type} is not a token type");
            }
            size = id + 1;
        }

        var merges = new List<(string, string)>(mergeStrings.Length);
        for (int i = 0; i < mergeStrings.Length; i++)
        {
            string s = mergeStrings[i];
            int sp = s.Length > 1 ? s.IndexOf(' ', 1) : -1;
            if (sp <= 0) throw new FrSpecException($"{path}: tokenizer.ggml.merges[{i}] = {JsonSerializer.Serialize(s)} is not \"A B\"");
            merges.Add((s[..sp], s[(sp + 1)..]));
        }

        var idToToken = new string?[size];
        var addedById = new AddedToken?[size];
        var addedByContent = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in vocab) idToToken[id] = token;
        foreach (var a in added)
        {
            idToToken[a.Id] = a.Content;
            addedById[a.Id] = a;
            addedByContent.TryAdd(a.Content, a.Id);
        }

        int? Id(string key)
        {
            int? id = m.Int32($"tokenizer.ggml.{key}", 0, tokens.Length - 1);
            return id is int i && i < size && idToToken[i] != null ? i : null;
        }
        int? bos = Id("bos_token_id"), eos = Id("eos_token_id");
        bool addBos = (m.Bool("tokenizer.ggml.add_bos_token") ?? pre.AddBosByDefault) && bos != null;
        bool addEos = (m.Bool("tokenizer.ggml.add_eos_token") ?? false) && eos != null;

        bool byteLevel = false;
        using var preJson = JsonDocument.Parse(pre.SplitRegex is { } regex
            ? $$"""{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":{{JsonSerializer.Serialize(regex)}}},"behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,"use_regex":false}]}"""
            : """{"type":"ByteLevel","add_prefix_space":false,"use_regex":true}""");
        using var normalizerJson = JsonDocument.Parse(pre.Nfc ? """{"type":"NFC"}""" : "null");
        using var decoderJson = JsonDocument.Parse("""{"type":"ByteLevel"}""");
        return new HfTokenizer
        {
            SourcePath = path,
            Model = new BpeModel(vocab, merges, unkToken: null, byteFallback: false, fuseUnk: false, ignoreMerges: pre.IgnoreMerges),
            IdToTokenTable = idToToken,
            AddedByContent = addedByContent,
            AddedById = addedById,
            RawMatcher = new AddedTokenMatcher(added),
            NormalizedMatcher = new AddedTokenMatcher([]),
            Normalizer = TextNormalizer.FromJson(normalizerJson.RootElement, path),
            PreTokenizer = PreTokenizerStep.FromJson(preJson.RootElement, path, ref byteLevel),
            ByteLevel = byteLevel,
            PrefixIds = addBos ? [bos!.Value] : [],
            SuffixIds = addEos ? [eos!.Value] : [],
            Decoder = DecoderStep.FromJson(decoderJson.RootElement, path),
            SafeSplitChar = null,
            CleanUpTokenizationSpaces = pre.CleanUpSpaces,
            BosId = bos,
            EosId = eos,
            PadId = Id("padding_token_id"),
        };
    }
}
