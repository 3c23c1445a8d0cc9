using System.Text;
using System.Text.Json;

namespace FrSpec.Text;

/// <summary>One chat turn: role is "system", "user" or "assistant".</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// Renders conversations exactly as a model family's Hugging Face chat_template (Jinja) does, for plain text
/// conversations (no tools). FrSpec does not run Jinja: it recognises which published template a tokenizer_config.json
/// carries by distinctive markers and renders that family in code; an unknown template is a clear error.
/// Families: llama3, llama3.1 (also 3.2/3.3), qwen2, qwen2.5, qwen3, chatml, llama2.
/// </summary>
public sealed class ChatTemplate
{
    /// <summary>Family names accepted by <see cref="ForFamily"/>.</summary>
    public static readonly IReadOnlyList<string> Families = ["llama3", "llama3.1", "qwen2", "qwen2.5", "qwen3", "chatml", "llama2"];

    /// <summary>The family this template renders (one of <see cref="Families"/>).</summary>
    public string Family { get; }

    /// <summary>BOS token text the template writes (Llama families).</summary>
    public string BosToken { get; init; }

    /// <summary>EOS token text the template writes after assistant turns (Llama-2).</summary>
    public string EosToken { get; init; }

    /// <summary>Token texts that end an assistant turn: generation stops on any of them.</summary>
    public IReadOnlyList<string> StopTokens { get; }

    /// <summary>Llama-3.1 "Today Date": "26 Jul 2024" (the 3.1 template's default), or today's date for templates that
    /// call strftime_now (Llama-3.2/3.3), as transformers renders them.</summary>
    public string DateString { get; set; } = "26 Jul 2024";

    /// <summary>Qwen3's enable_thinking: false appends an empty think block to the generation prompt.</summary>
    public bool? EnableThinking { get; set; }

    /// <summary>The early Llama-3 template (as in some tokenizer_config.json files) appends the assistant header always.</summary>
    public bool AlwaysAddsGenerationPrompt { get; init; }

    private ChatTemplate(string family, string bos, string eos, IReadOnlyList<string> stops)
    {
        Family = family;
        BosToken = bos;
        EosToken = eos;
        StopTokens = stops;
    }

    /// <summary>The template of a family by name: llama3, llama3.1, qwen2, qwen2.5, qwen3, chatml or llama2.</summary>
    public static ChatTemplate ForFamily(string family) => family.ToLowerInvariant() switch
    {
        "llama3" or "llama-3" => new("llama3", "<|begin_of_text|>", "<|eot_id|>", ["<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"]),
        "llama3.1" or "llama-3.1" or "llama3.2" or "llama3.3" => new("llama3.1", "<|begin_of_text|>", "<|eot_id|>", ["<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"]),
        "qwen2" or "qwen" => new("qwen2", "", "<|im_end|>", ["<|im_end|>", "<|endoftext|>"]),
        "qwen2.5" => new("qwen2.5", "", "<|im_end|>", ["<|im_end|>", "<|endoftext|>"]),
        "qwen3" => new("qwen3", "", "<|im_end|>", ["<|im_end|>", "<|endoftext|>"]),
        "chatml" => new("chatml", "", "<|im_end|>", ["<|im_end|>", "<|endoftext|>"]),
        "llama2" or "llama-2" => new("llama2", "<s>", "</s>", ["</s>"]),
        _ => throw new FrSpecException($"unknown chat template family '{family}' (known: {string.Join(", ", Families)})"),
    };

    /// <summary>Recognises a Jinja chat_template by its markers. <paramref name="source"/> names it in errors.</summary>
    public static ChatTemplate FromJinja(string template, string? bosToken = null, string? eosToken = null, string source = "chat_template")
    {
        ArgumentNullException.ThrowIfNull(template);
        string family;
        bool always = false;
        if (template.Contains("<|start_header_id|>") && template.Contains("<|eot_id|>"))
        {
            family = template.Contains("Cutting Knowledge Date") ? "llama3.1" : "llama3";
            always = family == "llama3" && !template.Contains("add_generation_prompt");
        }
        else if (template.Contains("<|im_start|>"))
        {
            family = template.Contains("<think>") || template.Contains("</think>") ? "qwen3"
                : template.Contains("You are Qwen, created by Alibaba Cloud") ? "qwen2.5"
                : template.Contains("You are a helpful assistant.") ? "qwen2"
                : "chatml";
            if (family == "chatml" && template.Contains("system") && template.Contains("loop.first") && !template.Contains("tools"))
                throw Unsupported(source, "a ChatML template with its own default system prompt");
        }
        else if (template.Contains("<<SYS>>") && template.Contains("[INST]"))
            family = "llama2";
        else if (template.Contains("[INST]"))
            throw Unsupported(source, "a Mistral [INST] template");
        else
            throw Unsupported(source, "no known family markers (<|start_header_id|>, <|im_start|>, <<SYS>>)");
        var t = ForFamily(family);
        var result = new ChatTemplate(t.Family, bosToken ?? t.BosToken, eosToken ?? t.EosToken, t.StopTokens) { AlwaysAddsGenerationPrompt = always };
        // Llama-3.2/3.3 templates use strftime_now("%d %b %Y") when transformers provides it (it does): today's date.
        if (family == "llama3.1" && template.Contains("strftime_now"))
            result.DateString = DateTime.Now.ToString("dd MMM yyyy", System.Globalization.CultureInfo.InvariantCulture);
        return result;
    }

    private static FrSpecException Unsupported(string source, string what)
        => new($"{source}: unsupported chat template ({what}); supported families: {string.Join(", ", Families)}. " +
               "Pick one explicitly with ChatTemplate.ForFamily (CLI: --chat-template FAMILY).");

    /// <summary>Loads the chat_template of a tokenizer_config.json (with its bos_token and eos_token).</summary>
    public static ChatTemplate FromTokenizerConfig(string path)
    {
        if (!File.Exists(path)) throw new FrSpecException($"{path}: file not found");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new FrSpecException($"{path}: not valid JSON ({e.Message})", e); }
        using (doc)
        {
            var root = doc.RootElement;
            var node = Json.Prop(root, "chat_template");
            string? template = node.ValueKind switch
            {
                JsonValueKind.String => node.GetString(),
                // A list of named templates: the "default" one renders conversations.
                JsonValueKind.Array => node.EnumerateArray().Where(e => Json.OptStr(e, "name") == "default")
                    .Select(e => Json.OptStr(e, "template")).FirstOrDefault(),
                _ => null,
            };
            if (template is null)
                throw new FrSpecException($"{path}: no chat_template (pick a family explicitly: {string.Join(", ", Families)})");
            return FromJinja(template, Json.TokenContent(root, "bos_token"), Json.TokenContent(root, "eos_token"), $"{path}: chat_template");
        }
    }

    /// <summary>Loads the template of a model directory (tokenizer_config.json's chat_template).</summary>
    public static ChatTemplate FromModelDirectory(string modelDir)
        => FromTokenizerConfig(Path.Combine(modelDir, "tokenizer_config.json"));

    /// <summary>Ids of the stop tokens that exist in <paramref name="tokenizer"/> (plus its EOS id).</summary>
    public IReadOnlyList<int> StopIds(ITokenizer tokenizer)
    {
        var ids = StopTokens.Select(tokenizer.TokenToId).OfType<int>().ToList();
        if (tokenizer.EosId is int eos && !ids.Contains(eos)) ids.Add(eos);
        return ids;
    }

    /// <summary>The prompt text; special-token text in it is recognised by the tokenizer.</summary>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0) throw new FrSpecException("chat template: no messages to render");
        var sb = new StringBuilder();
        switch (Family)
        {
            case "llama3": RenderLlama3(sb, messages, addGenerationPrompt || AlwaysAddsGenerationPrompt); break;
            case "llama3.1": RenderLlama31(sb, messages, addGenerationPrompt); break;
            case "qwen2": RenderChatMl(sb, messages, addGenerationPrompt, "You are a helpful assistant."); break;
            case "qwen2.5": RenderQwen25(sb, messages, addGenerationPrompt); break;
            case "qwen3": RenderQwen3(sb, messages, addGenerationPrompt); break;
            case "chatml": RenderChatMl(sb, messages, addGenerationPrompt, null); break;
            case "llama2": RenderLlama2(sb, messages); break;
        }
        return sb.ToString();
    }

    private static void Header(StringBuilder sb, string role) => sb.Append("<|start_header_id|>").Append(role).Append("<|end_header_id|>\n\n");

    private void RenderLlama3(StringBuilder sb, IReadOnlyList<ChatMessage> messages, bool generationPrompt)
    {
        for (int i = 0; i < messages.Count; i++)
        {
            if (i == 0) sb.Append(BosToken);
            Header(sb, messages[i].Role);
            sb.Append(PyStrip(messages[i].Content)).Append("<|eot_id|>");
        }
        if (generationPrompt) Header(sb, "assistant");
    }

    private void RenderLlama31(StringBuilder sb, IReadOnlyList<ChatMessage> messages, bool generationPrompt)
    {
        sb.Append(BosToken);
        int first = 0;
        string system = "";
        if (messages[0].Role == "system") { system = PyStrip(messages[0].Content); first = 1; }
        Header(sb, "system");
        sb.Append("Cutting Knowledge Date: December 2023\n").Append("Today Date: ").Append(DateString).Append("\n\n");
        sb.Append(system).Append("<|eot_id|>");
        for (int i = first; i < messages.Count; i++)
        {
            if (messages[i].Role is "tool" or "ipython")
                throw new FrSpecException("chat template llama3.1: tool messages are not supported");
            Header(sb, messages[i].Role);
            sb.Append(PyStrip(messages[i].Content)).Append("<|eot_id|>");
        }
        if (generationPrompt) Header(sb, "assistant");
    }

    private static void Turn(StringBuilder sb, string role, string content)
        => sb.Append("<|im_start|>").Append(role).Append('\n').Append(content).Append("<|im_end|>\n");

    private static void RenderChatMl(StringBuilder sb, IReadOnlyList<ChatMessage> messages, bool generationPrompt, string? defaultSystem)
    {
        if (defaultSystem is not null && messages[0].Role != "system") Turn(sb, "system", defaultSystem);
        foreach (var m in messages) Turn(sb, m.Role, m.Content);
        if (generationPrompt) sb.Append("<|im_start|>assistant\n");
    }

    private static void RenderQwen25(StringBuilder sb, IReadOnlyList<ChatMessage> messages, bool generationPrompt)
    {
        if (messages[0].Role == "system") Turn(sb, "system", messages[0].Content);
        else Turn(sb, "system", "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            if (m.Role is "user" or "assistant" || m.Role == "system" && i > 0) Turn(sb, m.Role, m.Content);
            else if (m.Role == "tool") ToolTurn(sb, messages, i);
        }
        if (generationPrompt) sb.Append("<|im_start|>assistant\n");
    }

    /// <summary>Tool results in the Qwen templates: consecutive ones share one user turn.</summary>
    private static void ToolTurn(StringBuilder sb, IReadOnlyList<ChatMessage> messages, int i)
    {
        if (i == 0 || messages[i - 1].Role != "tool") sb.Append("<|im_start|>user");
        sb.Append("\n<tool_response>\n").Append(messages[i].Content).Append("\n</tool_response>");
        if (i == messages.Count - 1 || messages[i + 1].Role != "tool") sb.Append("<|im_end|>\n");
    }

    private void RenderQwen3(StringBuilder sb, IReadOnlyList<ChatMessage> messages, bool generationPrompt)
    {
        if (messages[0].Role == "system") Turn(sb, "system", messages[0].Content);
        // The last user turn that is not a tool response: assistant turns after it keep their reasoning.
        int lastQuery = messages.Count - 1;
        for (int i = messages.Count - 1; i >= 0; i--)
        {
            var c = messages[i].Content;
            if (messages[i].Role == "user" && !(c.StartsWith("<tool_response>", StringComparison.Ordinal) && c.EndsWith("</tool_response>", StringComparison.Ordinal)))
            {
                lastQuery = i;
                break;
            }
        }
        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            if (m.Role == "user" || m.Role == "system" && i > 0) Turn(sb, m.Role, m.Content);
            else if (m.Role == "assistant")
            {
                string content = m.Content, reasoning = "";
                int end = content.IndexOf("</think>", StringComparison.Ordinal);
                if (end >= 0)
                {
                    var parts = content.Split("</think>");
                    content = parts[^1].TrimStart('\n');
                    var before = parts[0].TrimEnd('\n').Split("<think>");
                    reasoning = before[^1].TrimStart('\n');
                }
                sb.Append("<|im_start|>assistant\n");
                if (i > lastQuery && (i == messages.Count - 1 || reasoning.Length > 0))
                    sb.Append("<think>\n").Append(reasoning.Trim('\n')).Append("\n</think>\n\n").Append(content.TrimStart('\n'));
                else
                    sb.Append(content);
                sb.Append("<|im_end|>\n");
            }
            else if (m.Role == "tool") ToolTurn(sb, messages, i);
        }
        if (generationPrompt)
        {
            sb.Append("<|im_start|>assistant\n");
            if (EnableThinking == false) sb.Append("<think>\n\n</think>\n\n");
        }
    }

    private void RenderLlama2(StringBuilder sb, IReadOnlyList<ChatMessage> messages)
    {
        int first = 0;
        string? system = null;
        if (messages[0].Role == "system") { system = messages[0].Content; first = 1; }
        for (int i = first; i < messages.Count; i++)
        {
            int k = i - first;
            var m = messages[i];
            if ((m.Role == "user") != (k % 2 == 0))
                throw new FrSpecException("chat template llama2: Conversation roles must alternate user/assistant/user/assistant/...");
            var content = k == 0 && system is not null ? "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + m.Content : m.Content;
            if (m.Role == "user") sb.Append(BosToken).Append("[INST] ").Append(PyStrip(content)).Append(" [/INST]");
            else if (m.Role == "assistant") sb.Append(' ').Append(PyStrip(content)).Append(' ').Append(EosToken);
        }
    }

    /// <summary>Python's str.strip(): Unicode whitespace plus the separators U+001C..U+001F.</summary>
    private static string PyStrip(string s)
    {
        static bool Ws(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';
        int a = 0, b = s.Length;
        while (a < b && Ws(s[a])) a++;
        while (b > a && Ws(s[b - 1])) b--;
        return s[a..b];
    }
}
