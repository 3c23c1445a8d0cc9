using System.Text.Json;
using FrSpec.Text.Jinja;

namespace FrSpec.Text;

/// <summary>
/// A model's own chat template: the Jinja <c>chat_template</c> of its tokenizer_config.json (or chat_template.jinja),
/// run by FrSpec's sandboxed Jinja interpreter exactly as transformers' <c>apply_chat_template</c> runs it. The
/// template sees <c>messages</c>, <c>tools</c>, <c>documents</c> (None), <c>add_generation_prompt</c>, the tokenizer's
/// special tokens (bos_token, eos_token, ... as strings) and any extra variables (enable_thinking, date_string, ...).
/// Immutable and thread-safe.
/// </summary>
public sealed class ChatTemplate
{
    private const string ProbeAnswer = "FrSpecProbeAnswer", ProbeArgument = "frspec_probe";

    private static readonly string[] SpecialTokenNames = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];
    private static readonly HashSet<string> ReservedVariables = ["messages", "tools", "documents", "add_generation_prompt"];

    private readonly string _defaultText;
    private readonly string? _toolUseText;
    private readonly JinjaTemplate _default;
    private readonly JinjaTemplate? _toolUse;
    private readonly IReadOnlyList<KeyValuePair<string, object?>> _specialTokens;
    private readonly IReadOnlyCollection<string>? _specialTexts;
    private readonly Func<DateTime> _clock;

    /// <summary>Where the template came from (a file and field), used in error messages.</summary>
    public string Source { get; }

    /// <summary>The bos_token the template receives, if the tokenizer has one.</summary>
    public string? BosToken { get; }

    /// <summary>The eos_token the template receives, if the tokenizer has one.</summary>
    public string? EosToken { get; }

    /// <summary>
    /// Token texts that end an assistant turn: the special token the template writes right after an assistant
    /// message's content (found by rendering a probe conversation), and the eos_token. Generation stops on any of them.
    /// </summary>
    public IReadOnlyList<string> StopTokens { get; }

    /// <summary>
    /// Whether the template shows a tool list to the model (decided once by rendering a probe conversation with a probe
    /// tool: templates without tool support, e.g. Llama 2's, ignore the list).
    /// </summary>
    public bool SupportsTools => _supportsTools.Value;

    private readonly Lazy<bool> _supportsTools;

    /// <summary>The limits every render runs under.</summary>
    public JinjaLimits Limits { get; }

    /// <summary>
    /// Whether tool-call arguments reach the template parsed (a dict, as transformers documents and most templates
    /// expect: they print it with tojson) rather than as the JSON text; decided by rendering a probe tool call.
    /// </summary>
    internal bool ToolArgumentsAsObject { get; }

    private ChatTemplate(string source, string defaultText, string? toolUseText, IReadOnlyList<KeyValuePair<string, object?>> specialTokens,
        IReadOnlyCollection<string>? specialTexts, Func<DateTime> clock, JinjaLimits limits)
    {
        Source = source;
        _defaultText = defaultText;
        _toolUseText = toolUseText;
        _specialTokens = specialTokens;
        _specialTexts = specialTexts;
        _clock = clock;
        Limits = limits;
        _default = JinjaTemplate.Parse(defaultText, source, limits);
        _toolUse = toolUseText is null ? null : JinjaTemplate.Parse(toolUseText, source + " (tool_use)", limits);
        BosToken = specialTokens.FirstOrDefault(t => t.Key == "bos_token").Value as string;
        EosToken = specialTokens.FirstOrDefault(t => t.Key == "eos_token").Value as string;
        ToolArgumentsAsObject = ProbeToolArguments();
        _supportsTools = new Lazy<bool>(ProbeTools);
        StopTokens = ProbeStopTokens();
    }

    /// <summary>
    /// A template from its Jinja text. <paramref name="bosToken"/> and <paramref name="eosToken"/> are passed to it as
    /// bos_token and eos_token; <paramref name="source"/> names it in errors. A template that does not parse is an error.
    /// </summary>
    public static ChatTemplate FromJinja(string template, string? bosToken = null, string? eosToken = null, string source = "chat_template")
    {
        ArgumentNullException.ThrowIfNull(template);
        var tokens = new List<KeyValuePair<string, object?>>();
        if (!string.IsNullOrEmpty(bosToken)) tokens.Add(new("bos_token", bosToken));
        if (!string.IsNullOrEmpty(eosToken)) tokens.Add(new("eos_token", eosToken));
        return new ChatTemplate(source, template, null, tokens, null, () => DateTime.Now, JinjaLimits.Default);
    }

    /// <summary>
    /// The chat_template of a tokenizer_config.json (a string, or a list of named templates of which "default" is used,
    /// and "tool_use" when tools are given), with its special tokens.
    /// </summary>
    public static ChatTemplate FromTokenizerConfig(string path) => Load(path, null);

    /// <summary>The template of a model directory: chat_template.jinja if present (it takes precedence, as in
    /// transformers), else tokenizer_config.json's chat_template; special tokens from tokenizer_config.json.</summary>
    public static ChatTemplate FromModelDirectory(string modelDir)
    {
        string jinja = Path.Combine(modelDir, "chat_template.jinja");
        return Load(Path.Combine(modelDir, "tokenizer_config.json"), File.Exists(jinja) ? jinja : null);
    }

    private static ChatTemplate Load(string path, string? templateFile)
    {
        if (!File.Exists(path)) throw new FrSpecException($"{path}: file not found");
        using (var doc = Formats.JsonInput.ReadFile(path, "tokenizer config"))
        {
            var root = doc.RootElement;
            string source = templateFile ?? $"{path}: chat_template";
            string? template = templateFile is null ? null : ReadTemplateFile(templateFile), toolUse = null;
            if (template is null)
            {
                var node = Json.Prop(root, "chat_template");
                switch (node.ValueKind)
                {
                    case JsonValueKind.String:
                        template = node.GetString();
                        break;
                    case JsonValueKind.Array:
                        foreach (var e in node.EnumerateArray())
                        {
                            if (Json.OptStr(e, "name") == "default") template = Json.OptStr(e, "template");
                            else if (Json.OptStr(e, "name") == "tool_use") toolUse = Json.OptStr(e, "template");
                        }
                        if (template is null) throw new FrSpecException($"{path}: chat_template lists named templates but none called \"default\"");
                        break;
                }
            }
            if (template is null) throw new FrSpecException($"{path}: no chat_template (and no chat_template.jinja beside it)");
            var (tokens, texts) = SpecialTokens(root);
            return new ChatTemplate(source, template, toolUse, tokens, texts, () => DateTime.Now, JinjaLimits.Default);
        }
    }

    private static string ReadTemplateFile(string file)
    {
        var bytes = Formats.InputFile.ReadAll(file, 4L * JinjaLimits.Default.MaxTemplateChars, "chat template");
        try { return new System.Text.UTF8Encoding(false, true).GetString(bytes).TrimStart('\uFEFF'); }
        catch (System.Text.DecoderFallbackException) { throw new FrSpecException($"{file}: the chat template is not UTF-8 text"); }
    }

    /// <summary>The same template with another clock for strftime_now (local time; transformers uses datetime.now()).</summary>
    public ChatTemplate WithClock(Func<DateTime> clock)
        => new(Source, _defaultText, _toolUseText, _specialTokens, _specialTexts, clock ?? throw new ArgumentNullException(nameof(clock)), Limits);

    /// <summary>The same template rendered under other resource limits.</summary>
    public ChatTemplate WithLimits(JinjaLimits limits)
        => new(Source, _defaultText, _toolUseText, _specialTokens, _specialTexts, _clock, limits ?? throw new ArgumentNullException(nameof(limits)));

    /// <summary>The prompt text for a conversation; special-token text in it is recognised by the tokenizer.</summary>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
        => Render(messages, addGenerationPrompt, null, null);

    /// <summary>
    /// The prompt text for a conversation with optional tools and extra template variables (e.g. enable_thinking,
    /// date_string, reasoning_effort; values may be strings, numbers, booleans, null, JSON, dictionaries and lists).
    /// Errors, including the template's own raise_exception, are <see cref="FrSpecException"/>s naming the template.
    /// </summary>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, IReadOnlyList<ChatTool>? tools,
        IReadOnlyDictionary<string, object?>? variables = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0) throw new FrSpecException($"{Source}: no messages to render");
        return RenderValues(messages.Select(m => MessageValue(m, ToolArgumentsAsObject)).ToArray(), addGenerationPrompt, tools, variables);
    }

    private string RenderValues(Value[] messages, bool addGenerationPrompt, IReadOnlyList<ChatTool>? tools, IReadOnlyDictionary<string, object?>? variables)
    {
        var vars = new Dictionary<string, Value>
        {
            ["messages"] = new ListValue(messages),
            ["tools"] = tools is null ? NoneValue.Instance : new ListValue(tools.Select(t => ValueConverter.FromJson(t.Definition, "tools", 1, Limits.MaxDepth)).ToArray()),
            ["documents"] = NoneValue.Instance,
            ["add_generation_prompt"] = BoolValue.Of(addGenerationPrompt),
        };
        foreach (var (name, value) in _specialTokens) vars[name] = ValueConverter.From(value, name, Limits.MaxDepth);
        if (variables is not null)
            foreach (var (name, value) in variables)
            {
                if (ReservedVariables.Contains(name))
                    throw new FrSpecException($"{Source}: template variable '{name}' is set by Render itself; pass it through its own parameter");
                vars[name] = ValueConverter.From(value, name, Limits.MaxDepth);
            }
        var template = tools is not null && _toolUse is not null ? _toolUse : _default;
        return template.Render(vars, _clock);
    }

    /// <summary>A message as the dict transformers passes: role, content, then name, tool_calls, tool_call_id and
    /// the extra properties, in that order.</summary>
    private Value MessageValue(ChatMessage m, bool argumentsAsObject)
    {
        ArgumentNullException.ThrowIfNull(m);
        var d = new OrderedDictionary<string, Value>
        {
            ["role"] = StringValue.Of(m.Role ?? throw new FrSpecException("a chat message has no role")),
            ["content"] = m.Content is null ? NoneValue.Instance : StringValue.Of(m.Content),
        };
        if (m.Name is not null) d["name"] = StringValue.Of(m.Name);
        if (m.ToolCalls is not null)
            d["tool_calls"] = new ListValue(m.ToolCalls.Select(c => ToolCallValue(c, argumentsAsObject)).ToArray());
        if (m.ToolCallId is not null) d["tool_call_id"] = StringValue.Of(m.ToolCallId);
        if (m.Properties is not null)
            foreach (var (k, v) in m.Properties) d[k] = ValueConverter.From(v, $"message.{k}", Limits.MaxDepth);
        return new DictValue(d);
    }

    private Value ToolCallValue(ChatToolCall call, bool argumentsAsObject)
    {
        Value arguments = StringValue.Of(call.Arguments ?? "");
        if (argumentsAsObject && !string.IsNullOrWhiteSpace(call.Arguments))
        {
            try
            {
                using var doc = JsonDocument.Parse(call.Arguments, new JsonDocumentOptions { MaxDepth = Limits.MaxDepth });
                if (doc.RootElement.ValueKind == JsonValueKind.Object)
                    arguments = ValueConverter.FromJson(doc.RootElement, "tool_call.arguments", 2, Limits.MaxDepth);
            }
            catch (JsonException) { } // not a JSON object: the template gets the text as it is
        }
        var function = new OrderedDictionary<string, Value> { ["name"] = StringValue.Of(call.Name), ["arguments"] = arguments };
        var d = new OrderedDictionary<string, Value>();
        if (call.Id is not null) d["id"] = StringValue.Of(call.Id);
        d["type"] = StringValue.Of("function");
        d["function"] = new DictValue(function);
        return new DictValue(d);
    }

    /// <summary>Renders an assistant tool call whose arguments are an object: if the template prints them as JSON
    /// (the key in double quotes), it wants objects; otherwise (it concatenates them as text, or fails) it gets text.</summary>
    private bool ProbeToolArguments()
    {
        var call = new ChatToolCall("frspec_probe_tool", $"{{\"{ProbeArgument}\": \"FrSpecProbeValue\"}}") { Id = "call_0" };
        foreach (var content in new[] { "", null })
        {
            var conversation = new[] { new ChatMessage("user", "FrSpecProbeQuestion"), new ChatMessage("assistant", content) { ToolCalls = [call] } };
            try
            {
                string text = RenderValues(conversation.Select(m => MessageValue(m, argumentsAsObject: true)).ToArray(), false, null, null);
                if (text.Contains($"\"{ProbeArgument}\"", StringComparison.Ordinal)) return true;
            }
            catch (FrSpecException) { }
        }
        return false;
    }

    private bool ProbeTools()
    {
        const string name = "frspec_probe_function";
        var tool = ChatTool.Function(name, "probe", null);
        try { return Render([new ChatMessage("user", "FrSpecProbeQuestion")], true, [tool]).Contains(name, StringComparison.Ordinal); }
        catch (FrSpecException) { return false; }
    }

    /// <summary>The special token right after a probe assistant answer (e.g. &lt;|eot_id|&gt;, &lt;|im_end|&gt;,
    /// &lt;end_of_turn&gt;), plus eos_token.</summary>
    private IReadOnlyList<string> ProbeStopTokens()
    {
        var stops = new List<string>();
        ChatMessage[][] probes =
        [
            [new("user", "FrSpecProbeQuestion"), new("assistant", ProbeAnswer)],
            [new("system", "FrSpecProbeSystem"), new("user", "FrSpecProbeQuestion"), new("assistant", ProbeAnswer)],
        ];
        foreach (var conversation in probes)
        {
            string text;
            try { text = Render(conversation, addGenerationPrompt: false); }
            catch (FrSpecException) { continue; }
            int at = text.LastIndexOf(ProbeAnswer, StringComparison.Ordinal);
            if (at < 0) continue;
            int i = at + ProbeAnswer.Length;
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            if (SpecialTokenAt(text, i) is { } token) stops.Add(token);
            break;
        }
        if (EosToken is not null && !stops.Contains(EosToken)) stops.Add(EosToken);
        return stops;
    }

    /// <summary>The longest special token of the tokenizer starting at <paramref name="i"/>; when the tokenizer's
    /// special tokens are not known (a bare template), bos/eos or a marker of the usual shape (&lt;…&gt;, no spaces).</summary>
    private string? SpecialTokenAt(string text, int i)
    {
        var known = _specialTexts ?? [.. new[] { BosToken, EosToken }.OfType<string>()];
        string? best = null;
        foreach (var t in known)
            if (t.Length > 0 && string.CompareOrdinal(text, i, t, 0, t.Length) == 0 && (best is null || t.Length > best.Length)) best = t;
        if (best is not null || _specialTexts is not null || i >= text.Length || text[i] != '<') return best;
        for (int j = i + 1; j < text.Length && j < i + 66; j++)
        {
            if (text[j] == '>') return j > i + 1 ? text[i..(j + 1)] : null;
            if (char.IsWhiteSpace(text[j]) || text[j] == '<') return null;
        }
        return null;
    }

    /// <summary>The special tokens transformers passes to the template (as strings; an AddedToken object gives its
    /// content), and all special token texts of the tokenizer.</summary>
    private static (List<KeyValuePair<string, object?>> Tokens, List<string> Texts) SpecialTokens(JsonElement root)
    {
        var tokens = new List<KeyValuePair<string, object?>>();
        var texts = new List<string>();
        foreach (var name in SpecialTokenNames)
            if (Json.TokenContent(root, name) is { Length: > 0 } t)
            {
                tokens.Add(new(name, t));
                texts.Add(t);
            }
        var extra = Json.Prop(root, "additional_special_tokens");
        if (extra.ValueKind == JsonValueKind.Array)
        {
            var list = extra.EnumerateArray()
                .Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : Json.OptStr(e, "content"))
                .OfType<string>().ToList();
            if (list.Count > 0) tokens.Add(new("additional_special_tokens", list));
            texts.AddRange(list);
        }
        var decoder = Json.Prop(root, "added_tokens_decoder");
        if (decoder.ValueKind == JsonValueKind.Object)
            foreach (var p in decoder.EnumerateObject())
                if (Json.Bool(p.Value, "special", false) && Json.OptStr(p.Value, "content") is { Length: > 0 } content) texts.Add(content);
        return (tokens, texts.Distinct().ToList());
    }

    /// <summary>Ids of the stop tokens that exist in <paramref name="tokenizer"/> (plus its EOS id).</summary>
    public IReadOnlyList<int> StopIds(ITokenizer tokenizer)
    {
        var ids = StopTokens.Select(tokenizer.TokenToId).OfType<int>().ToList();
        if (tokenizer.EosId is int eos && !ids.Contains(eos)) ids.Add(eos);
        return ids;
    }
}
