using System.Text.Json;
using FrSpec.Formats;
using FrSpec.Frequency;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Text;

namespace FrSpec.Sessions;

/// <summary>
/// What a model directory says about tokens, everything but the weights: the tokenizer, the chat template, the
/// generation config, the one resolved set of stop tokens and the control ids an FR-Spec draft vocabulary must keep.
/// Resolved once and immutable; <see cref="LanguageModel"/> holds one, and tools that need no weights (frequency
/// counting) load one alone. Ids that a file names outside the vocabulary are errors naming the file and the field.
/// </summary>
public sealed class ModelVocabulary
{
    private readonly string? _templateProblem;

    /// <summary>The model (or tokenizer) directory.</summary>
    public string Directory { get; }

    /// <summary>Number of ids the model can produce (config.json vocab_size; the tokenizer may know fewer).</summary>
    public int Size { get; }

    /// <summary>The tokenizer of tokenizer.json, or null when the directory has none (then only token ids can be generated).</summary>
    public ITokenizer? Tokenizer { get; }

    /// <summary>The chat template of tokenizer_config.json, or null when there is none or it is not supported.</summary>
    public ChatTemplate? ChatTemplate { get; }

    /// <summary>generation_config.json (defaults when absent).</summary>
    public GenerationConfig GenerationConfig { get; }

    /// <summary>The ids that end an answer.</summary>
    public StopTokens StopTokens { get; }

    /// <summary>
    /// Ids every FR-Spec draft vocabulary contains, ascending: BOS, every stop id, and the special tokens the chat
    /// template writes around turns (found by rendering a short probe conversation, so no token list is hard-coded).
    /// </summary>
    public IReadOnlyList<int> ControlIds { get; }

    private ModelVocabulary(string directory, int size, ITokenizer? tokenizer, ChatTemplate? template, string? templateProblem,
        GenerationConfig generation, StopTokens stops, IReadOnlyList<int> controlIds)
    {
        Directory = directory; Size = size; Tokenizer = tokenizer; ChatTemplate = template; _templateProblem = templateProblem;
        GenerationConfig = generation; StopTokens = stops; ControlIds = controlIds;
    }

    /// <summary>
    /// Reads the token files of a directory: tokenizer.json (optional unless <paramref name="tokenizer"/> is given),
    /// tokenizer_config.json (eos/bos tokens, chat template), config.json and generation_config.json (eos/bos ids).
    /// <paramref name="vocabSize"/> defaults to config.json's vocab_size, else the tokenizer's size.
    /// </summary>
    public static ModelVocabulary Load(string directory, int? vocabSize = null, ITokenizer? tokenizer = null)
    {
        if (Formats.Gguf.GgufFile.IsGgufPath(directory)) return LoadGguf(directory, vocabSize, tokenizer);
        if (!System.IO.Directory.Exists(directory)) throw new FrSpecException($"{directory}: directory not found");
        tokenizer ??= File.Exists(Path.Combine(directory, "tokenizer.json")) ? TokenizerLoader.Load(directory) : null;
        var stops = new SortedDictionary<int, string>();
        var bos = new SortedSet<int>();

        string configFile = Path.Combine(directory, "config.json");
        if (File.Exists(configFile))
        {
            using var doc = JsonFields.ReadObject(configFile);
            vocabSize ??= JsonFields.OptInt(doc.RootElement, "vocab_size", configFile);
            Add(stops, JsonFields.TokenIds(doc.RootElement, "eos_token_id", configFile, vocabSize), "config.json eos_token_id");
            bos.UnionWith(JsonFields.TokenIds(doc.RootElement, "bos_token_id", configFile, vocabSize));
        }
        int size = vocabSize ?? tokenizer?.VocabSize
            ?? throw new FrSpecException($"{directory}: no config.json vocab_size and no tokenizer.json: the vocabulary size is unknown");
        if (size <= 0 || size > ModelConfig.Limits.MaxVocab)
            throw new FrSpecException($"{configFile}: field 'vocab_size' must be between 1 and {ModelConfig.Limits.MaxVocab}, got {size}");

        var generation = GenerationConfig.Load(directory, size);
        Add(stops, generation.EosTokenIds, "generation_config.json eos_token_id");
        if (generation.BosTokenId is int gb) bos.Add(gb);

        ChatTemplate? template = null;
        string? problem = null;
        string tokenizerConfig = Path.Combine(directory, "tokenizer_config.json");
        if (File.Exists(tokenizerConfig))
        {
            using var doc = JsonFields.ReadObject(tokenizerConfig);
            if (tokenizer != null)
            {
                if (TokenId(tokenizer, doc.RootElement, "eos_token", tokenizerConfig, size) is int eos) Add(stops, [eos], "tokenizer_config.json eos_token");
                if (TokenId(tokenizer, doc.RootElement, "bos_token", tokenizerConfig, size) is int b) bos.Add(b);
            }
            if (JsonFields.Has(doc.RootElement, "chat_template"))
            {
                try { template = ChatTemplate.FromModelDirectory(directory); }
                catch (FrSpecException e) { problem = e.Message; }
            }
        }
        else problem = $"{tokenizerConfig}: file not found";
        return Complete(directory, size, tokenizer, template, problem, generation, stops, bos, tokenizerConfig);
    }

    /// <summary>
    /// The token side of a llama.cpp GGUF file: its tokenizer (or a tokenizer.json beside it), the eos/eot/eom and bos ids
    /// of its metadata, and tokenizer.chat_template. GGUF has no generation config: sampling defaults apply.
    /// </summary>
    private static ModelVocabulary LoadGguf(string path, int? vocabSize, ITokenizer? tokenizer)
    {
        using var file = Formats.Gguf.GgufFile.Open(path);
        var config = Formats.Gguf.GgufModelConfig.Read(file);
        tokenizer ??= TokenizerLoader.Load(path);
        int size = vocabSize ?? config.VocabSize;
        var stops = new SortedDictionary<int, string>();
        Add(stops, config.EosTokenIds, "GGUF tokenizer.ggml eos/eot/eom ids");
        var bos = new SortedSet<int>();
        if (config.BosTokenId is int b) bos.Add(b);
        ChatTemplate? template = null;
        string? problem = null;
        var source = ChatTemplateSource.FromGguf(file);
        if (source == null) problem = $"{path}: no tokenizer.chat_template";
        else
        {
            try { template = ChatTemplate.FromJinja(source.Template, source.BosToken, source.EosToken, source.Origin); }
            catch (FrSpecException e) { problem = e.Message; }
        }
        return Complete(path, size, tokenizer, template, problem, new GenerationConfig(), stops, bos, $"{path}: tokenizer.chat_template");
    }

    /// <summary>What both sources share: the template's control and end-of-turn ids join BOS and the stop ids.</summary>
    private static ModelVocabulary Complete(string origin, int size, ITokenizer? tokenizer, ChatTemplate? template, string? problem,
        GenerationConfig generation, SortedDictionary<int, string> stops, SortedSet<int> bos, string templateFile)
    {
        var control = new SortedSet<int>(bos);
        if (template != null && tokenizer != null)
        {
            // A template that cannot render a plain conversation is treated as unsupported: chat prompts then say so.
            try { control.UnionWith(TemplateSpecialIds(template, tokenizer, size)); }
            catch (FrSpecException e) { (template, problem) = (null, e.Message); }
        }
        if (template != null && tokenizer != null)
            foreach (string text in template.StopTokens)
            {
                // A stop token the tokenizer lacks can never be generated, so it need not be watched for.
                if (tokenizer.TokenToId(text) is not int id) continue;
                if (id >= size) throw new FrSpecException($"{templateFile}: chat template end-of-turn token '{text}' is id {id}, outside the vocabulary of {size} ids");
                Add(stops, [id], $"chat template end-of-turn '{text}'");
            }
        var stopTokens = new StopTokens(stops);
        control.UnionWith(stopTokens);
        return new ModelVocabulary(origin, size, tokenizer, template, problem, generation, stopTokens, control.ToArray());
    }

    /// <summary>Prompt ids of plain text, with the special tokens (BOS) the tokenizer adds, as transformers encodes it.</summary>
    public int[] Encode(string text) => RequireTokenizer().Encode(text, addSpecialTokens: true);

    /// <summary>Prompt ids of a conversation rendered through the chat template (which writes its own special tokens).</summary>
    public int[] EncodeChat(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true) => EncodeChat(messages, null, addGenerationPrompt);

    /// <summary>
    /// Prompt ids of a conversation with the tools the model may call (null: none) and extra template variables
    /// (e.g. enable_thinking), rendered through the chat template. Tools for a template that ignores them are an error.
    /// </summary>
    public int[] EncodeChat(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ChatTool>? tools, bool addGenerationPrompt = true,
        IReadOnlyDictionary<string, object?>? variables = null)
    {
        var tokenizer = RequireTokenizer();
        var template = ChatTemplate ?? throw new FrSpecException($"{Directory}: no supported chat template ({_templateProblem ?? "tokenizer_config.json has no chat_template"})");
        if (tools is { Count: > 0 } && !template.SupportsTools)
            throw new FrSpecException($"{template.Source}: this chat template does not show tools to the model, so tools cannot be used with it");
        return tokenizer.Encode(template.Render(messages, addGenerationPrompt, tools is { Count: > 0 } ? tools : null, variables), addSpecialTokens: false);
    }

    /// <summary><see cref="Encode"/> for raw text, or a single user turn through the chat template when <paramref name="chat"/>.</summary>
    public int[] EncodePrompt(string prompt, bool chat) => chat ? EncodeChat([new ChatMessage("user", prompt)]) : Encode(prompt);

    /// <summary>Text of generated ids (special tokens skipped unless asked for).</summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true) => RequireTokenizer().Decode(ids, skipSpecialTokens);

    /// <summary>
    /// The FR-Spec draft vocabulary of a frequency list (FR-Spec's freq_N.pt or an SGLang token map): its first
    /// <paramref name="size"/> distinct ids (all when null), with the control ids forced in.
    /// </summary>
    public DraftVocabulary LoadDraftVocabulary(string file, int? size = null)
    {
        if (!File.Exists(file)) throw new FrSpecException($"{file}: frequency list not found");
        return new DraftVocabulary(FrequencySubset.Load(file, Size, ControlIds, size).Ids, Size, file);
    }

    /// <summary>The subset sizes V' FR-Spec publishes and FrSpec bundles counts for, smallest first (choices of `--fr-size auto`).</summary>
    public static IReadOnlyList<int> StandardDraftSizes { get; } = [8192, 16384, 32768];

    /// <summary>
    /// The FR-Spec draft vocabulary of size <paramref name="size"/>: freq_&lt;size&gt;.pt in the model directory or one of
    /// <paramref name="searchDirectories"/> (FR-Spec's published heads ship them), else the counts bundled with FrSpec
    /// for this model's tokenizer.json (Llama-3, Qwen3).
    /// </summary>
    public DraftVocabulary FindDraftVocabulary(int size, params string?[] searchDirectories)
    {
        if (size <= 0 || size > Size) throw new FrSpecException($"FR-Spec subset size {size} must be between 1 and the vocabulary size {Size}");
        // a GGUF model: its folder holds the files a model directory would
        string home = Formats.Gguf.GgufFile.IsGgufPath(Directory) ? Path.GetDirectoryName(Path.GetFullPath(Directory))! : Directory;
        var dirs = new[] { home }.Concat(searchDirectories).OfType<string>().ToList();
        foreach (var dir in dirs)
        {
            string file = Path.Combine(dir, $"freq_{size}.pt");
            if (File.Exists(file)) return LoadDraftVocabulary(file, size);
        }
        // bundled counts: made with this tokenizer.json, or (a GGUF without one) with the same vocabulary
        if ((BundledSubsets.Find(Path.Combine(home, "tokenizer.json")) ?? (Tokenizer != null ? BundledSubsets.FindByVocabulary(Tokenizer) : null))
            is var (name, counts) && counts.VocabSize <= Size)
        {
            // config vocab_size may exceed the tokenizer's (Qwen pads 151,669 ids to 151,936): padding ids count zero
            var padded = new long[Size];
            counts.Counts.CopyTo(padded, 0);
            return new DraftVocabulary(FrequencySubset.FromCounts(padded, size, ControlIds).Ids, Size, $"bundled {name}");
        }
        throw new FrSpecException($"FR-Spec subset of {size}: no freq_{size}.pt in {string.Join(" or ", dirs)} and no bundled counts for this tokenizer; build one with `frspec freq`");
    }

    /// <summary>A draft vocabulary of explicit ids (most important first): distinct, in range; control ids replace the last ones when missing.</summary>
    public DraftVocabulary CreateDraftVocabulary(IEnumerable<int> ids) =>
        new(FrequencySubset.FromIds(ids.ToArray(), Size, ControlIds, "draft vocabulary").Ids, Size, "explicit ids");

    private ITokenizer RequireTokenizer() => Tokenizer ?? throw new FrSpecException($"{Directory}: no tokenizer.json: generate from token ids instead");

    private static void Add(SortedDictionary<int, string> stops, IEnumerable<int> ids, string source)
    {
        foreach (int id in ids) stops.TryAdd(id, source);
    }

    /// <summary>The id of tokenizer_config.json's eos_token/bos_token (a string or {"content": ...}); an unknown token is an error.</summary>
    private static int? TokenId(ITokenizer tokenizer, JsonElement root, string field, string file, int size)
    {
        if (Json.TokenContent(root, field) is not string text) return null;
        if (tokenizer.TokenToId(text) is not int id) throw new FrSpecException($"{file}: {field} '{text}' is not a token of tokenizer.json");
        if (id >= size) throw new FrSpecException($"{file}: {field} '{text}' is id {id}, outside the vocabulary of {size} ids");
        return id;
    }

    /// <summary>
    /// The special tokens a template writes around turns: render system, user and assistant turns plus the generation
    /// prompt, and keep the special ids of the result. Templates that refuse a system turn are probed without one.
    /// </summary>
    private static IEnumerable<int> TemplateSpecialIds(ChatTemplate template, ITokenizer tokenizer, int size)
    {
        ChatMessage[] full = [new("system", "You are a helpful assistant."), new("user", "Hello!"), new("assistant", "Hi."), new("user", "Bye!")];
        string text;
        try { text = template.Render(full, addGenerationPrompt: true); }
        catch (FrSpecException) { text = template.Render(full[1..], addGenerationPrompt: true); }
        return tokenizer.Encode(text, addSpecialTokens: false).Where(id => id < size && tokenizer.IsSpecial(id)).Distinct().ToList();
    }
}
