using System.Text.Json;
using FrSpec.Text;

namespace FrSpec.Server;

/// <summary>
/// Parses and validates the JSON bodies of /v1/chat/completions and /v1/completions into a <see cref="CompletionRequest"/>.
/// Every problem is an <see cref="ApiException"/> (400) naming the field: malformed JSON, wrong types, values out of
/// range, and features this server does not implement (n &gt; 1, penalties, logprobs, ...) — never silently ignored.
/// Unknown fields are ignored, as clients add their own. Pure and stateless, so it can be tested and fuzzed alone.
/// </summary>
public static class RequestParser
{
    /// <summary>Largest body accepted (the server refuses larger ones before parsing).</summary>
    public const int MaxBodyBytes = 8 << 20;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    /// <summary>A chat completion request: messages, tools and settings.</summary>
    public static CompletionRequest ParseChat(ReadOnlyMemory<byte> body)
    {
        using var doc = Parse(body);
        var root = doc.RootElement;
        var messages = Required(root, "messages", JsonValueKind.Array);
        if (messages.GetArrayLength() == 0) throw ApiException.Invalid("messages", "'messages' must contain at least one message");
        var list = new List<ChatMessage>();
        int i = 0;
        foreach (var m in messages.EnumerateArray()) list.Add(Message(m, $"messages[{i++}]"));
        return Common(root, chat: true) with { Messages = list, Tools = Tools(root) };
    }

    /// <summary>A text completion request: a prompt (text or token ids) and settings.</summary>
    public static CompletionRequest ParseCompletion(ReadOnlyMemory<byte> body)
    {
        using var doc = Parse(body);
        var root = doc.RootElement;
        var prompt = Required(root, "prompt", null);
        var request = Common(root, chat: false);
        foreach (var field in new[] { "echo" })
            if (Bool(root, field) == true) throw ApiException.Unsupported(field, $"'{field}' is not supported");
        if (String(root, "suffix") is { Length: > 0 }) throw ApiException.Unsupported("suffix", "'suffix' (insertion) is not supported");
        if (Integer(root, "best_of", 1, int.MaxValue) is > 1) throw ApiException.Unsupported("best_of", "'best_of' greater than 1 is not supported");
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return request with { Prompt = prompt.GetString() };
            case JsonValueKind.Array when prompt.GetArrayLength() == 1 && prompt[0].ValueKind is JsonValueKind.String or JsonValueKind.Array:
                var only = prompt[0];
                return only.ValueKind == JsonValueKind.String ? request with { Prompt = only.GetString() } : request with { PromptIds = TokenIds(only) };
            case JsonValueKind.Array when prompt.GetArrayLength() > 0 && prompt[0].ValueKind == JsonValueKind.Number:
                return request with { PromptIds = TokenIds(prompt) };
            case JsonValueKind.Array when prompt.GetArrayLength() > 1:
                throw ApiException.Unsupported("prompt", "a batch of several prompts is not supported: send one request per prompt");
            default:
                throw ApiException.Invalid("prompt", "'prompt' must be a string, an array of one string, or an array of token ids");
        }
    }

    private static JsonDocument Parse(ReadOnlyMemory<byte> body)
    {
        if (body.Length > MaxBodyBytes) throw new ApiException(413, $"the request body is larger than {MaxBodyBytes} bytes");
        // The JSON reader checks structure but decodes string contents only when they are read: check the bytes first.
        if (!System.Text.Unicode.Utf8.IsValid(body.Span)) throw new ApiException(400, "the request body is not valid UTF-8", code: "invalid_json");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(body, DocumentOptions); }
        catch (JsonException e) { throw new ApiException(400, $"the request body is not valid JSON: {e.Message}", code: "invalid_json"); }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw new ApiException(400, "the request body must be a JSON object", code: "invalid_json");
        }
        return doc;
    }

    /// <summary>The settings both endpoints share.</summary>
    private static CompletionRequest Common(JsonElement root, bool chat)
    {
        int? maxTokens = Integer(root, "max_tokens", 1, int.MaxValue);
        if (chat && Integer(root, "max_completion_tokens", 1, int.MaxValue) is int mct) maxTokens = mct;
        double? temperature = Number(root, "temperature", 0, 2);
        double? topP = Number(root, "top_p", 0, 1);
        if (topP == 0) throw ApiException.Invalid("top_p", "'top_p' must be greater than 0 (use temperature 0 for greedy decoding)");
        if (Integer(root, "n", 1, int.MaxValue) is > 1) throw ApiException.Unsupported("n", "'n' must be 1: one choice per request");
        foreach (var field in new[] { "frequency_penalty", "presence_penalty" })
            if (Number(root, field, -2, 2) is double v && v != 0) throw ApiException.Unsupported(field, $"'{field}' is not supported (only 0)");
        if (root.TryGetProperty("logprobs", out var lp) && lp.ValueKind is not (JsonValueKind.Null or JsonValueKind.False) && !(lp.ValueKind == JsonValueKind.Number && lp.GetDouble() == 0))
            throw ApiException.Unsupported("logprobs", "'logprobs' is not supported");
        if (root.TryGetProperty("top_logprobs", out var tlp) && tlp.ValueKind != JsonValueKind.Null)
            throw ApiException.Unsupported("top_logprobs", "'top_logprobs' is not supported");
        if (root.TryGetProperty("logit_bias", out var bias) && bias.ValueKind == JsonValueKind.Object && bias.EnumerateObject().Any())
            throw ApiException.Unsupported("logit_bias", "'logit_bias' is not supported");
        if (root.TryGetProperty("response_format", out var format) && format.ValueKind == JsonValueKind.Object
            && !(format.TryGetProperty("type", out var ft) && ft.ValueKind == JsonValueKind.String && ft.GetString() == "text"))
            throw ApiException.Unsupported("response_format", "only response_format {\"type\": \"text\"} is supported");

        bool stream = Bool(root, "stream") ?? false;
        bool includeUsage = false;
        if (root.TryGetProperty("stream_options", out var so) && so.ValueKind != JsonValueKind.Null)
        {
            if (so.ValueKind != JsonValueKind.Object) throw ApiException.Invalid("stream_options", "'stream_options' must be an object");
            if (!stream) throw ApiException.Invalid("stream_options", "'stream_options' is only allowed when 'stream' is true");
            includeUsage = Bool(so, "include_usage", "stream_options.include_usage") ?? false;
        }
        return new CompletionRequest
        {
            Model = String(root, "model"),
            MaxTokens = maxTokens,
            Temperature = temperature is double t ? (float)t : null,
            TopP = topP is double p ? (float)p : null,
            TopK = Integer(root, "top_k", 0, int.MaxValue),
            Seed = Seed(root),
            Stop = Stop(root),
            Stream = stream,
            IncludeUsage = includeUsage,
        };
    }

    private static ChatMessage Message(JsonElement m, string path)
    {
        if (m.ValueKind != JsonValueKind.Object) throw ApiException.Invalid(path, $"'{path}' must be an object");
        string role = String(m, "role", $"{path}.role") ?? throw ApiException.Invalid($"{path}.role", $"'{path}.role' is required");
        if (role.Length == 0) throw ApiException.Invalid($"{path}.role", $"'{path}.role' must not be empty");
        if (role == "developer") role = "system"; // OpenAI's newer name for system instructions
        string? content = Content(m, $"{path}.content");
        IReadOnlyList<ChatToolCall>? calls = null;
        if (m.TryGetProperty("tool_calls", out var tc) && tc.ValueKind != JsonValueKind.Null)
        {
            if (tc.ValueKind != JsonValueKind.Array) throw ApiException.Invalid($"{path}.tool_calls", $"'{path}.tool_calls' must be an array");
            var list = new List<ChatToolCall>();
            int i = 0;
            foreach (var call in tc.EnumerateArray()) list.Add(ToolCall(call, $"{path}.tool_calls[{i++}]"));
            calls = list.Count > 0 ? list : null;
        }
        var properties = String(m, "reasoning_content", $"{path}.reasoning_content") is string reasoning
            ? new Dictionary<string, object?> { ["reasoning_content"] = reasoning } : null;
        // An assistant turn with only tool calls has content null in the API; templates expect a string there.
        return new ChatMessage(role, content ?? (calls != null ? "" : null))
        {
            Name = String(m, "name", $"{path}.name"),
            ToolCallId = String(m, "tool_call_id", $"{path}.tool_call_id"),
            ToolCalls = calls,
            Properties = properties,
        };
    }

    /// <summary>A string, null, or an array of text parts (joined); other part types are not supported.</summary>
    private static string? Content(JsonElement m, string path)
    {
        if (!m.TryGetProperty("content", out var c) || c.ValueKind == JsonValueKind.Null) return null;
        if (c.ValueKind == JsonValueKind.String) return c.GetString();
        if (c.ValueKind != JsonValueKind.Array) throw ApiException.Invalid(path, $"'{path}' must be a string, null or an array of content parts");
        var text = new System.Text.StringBuilder();
        int i = 0;
        foreach (var part in c.EnumerateArray())
        {
            string partPath = $"{path}[{i++}]";
            if (part.ValueKind != JsonValueKind.Object) throw ApiException.Invalid(partPath, $"'{partPath}' must be an object");
            string? type = String(part, "type", $"{partPath}.type");
            if (type != "text") throw ApiException.Unsupported($"{partPath}.type", $"content parts of type '{type}' are not supported (text only)");
            text.Append(String(part, "text", $"{partPath}.text") ?? throw ApiException.Invalid($"{partPath}.text", $"'{partPath}.text' is required"));
        }
        return text.ToString();
    }

    private static ChatToolCall ToolCall(JsonElement call, string path)
    {
        if (call.ValueKind != JsonValueKind.Object) throw ApiException.Invalid(path, $"'{path}' must be an object");
        var function = Required(call, "function", JsonValueKind.Object, $"{path}.function");
        string name = String(function, "name", $"{path}.function.name") is { Length: > 0 } n ? n : throw ApiException.Invalid($"{path}.function.name", $"'{path}.function.name' is required");
        string arguments = function.TryGetProperty("arguments", out var a) ? a.ValueKind switch
        {
            JsonValueKind.String => a.GetString()!,
            JsonValueKind.Object => a.GetRawText(),
            JsonValueKind.Null => "{}",
            _ => throw ApiException.Invalid($"{path}.function.arguments", $"'{path}.function.arguments' must be a JSON string"),
        } : "{}";
        return new ChatToolCall(name, arguments) { Id = String(call, "id", $"{path}.id") };
    }

    private static IReadOnlyList<ChatTool>? Tools(JsonElement root)
    {
        if (!root.TryGetProperty("tools", out var tools) || tools.ValueKind == JsonValueKind.Null) return null;
        if (tools.ValueKind != JsonValueKind.Array) throw ApiException.Invalid("tools", "'tools' must be an array");
        var list = new List<ChatTool>();
        int i = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            string path = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object) throw ApiException.Invalid(path, $"'{path}' must be an object");
            if (String(tool, "type", $"{path}.type") != "function") throw ApiException.Unsupported($"{path}.type", $"'{path}.type' must be \"function\"");
            var function = Required(tool, "function", JsonValueKind.Object, $"{path}.function");
            if (String(function, "name", $"{path}.function.name") is not { Length: > 0 }) throw ApiException.Invalid($"{path}.function.name", $"'{path}.function.name' is required");
            if (function.TryGetProperty("parameters", out var parameters) && parameters.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                throw ApiException.Invalid($"{path}.function.parameters", $"'{path}.function.parameters' must be a JSON schema object");
            list.Add(ChatTool.FromJson(tool));
        }
        if (root.TryGetProperty("tool_choice", out var choice) && choice.ValueKind != JsonValueKind.Null)
        {
            if (choice.ValueKind == JsonValueKind.String && choice.GetString() == "none") return null;
            if (!(choice.ValueKind == JsonValueKind.String && choice.GetString() == "auto"))
                throw ApiException.Unsupported("tool_choice", "only tool_choice \"auto\" and \"none\" are supported: the model cannot be forced to call a tool");
        }
        return list.Count > 0 ? list : null;
    }

    private static IReadOnlyList<string>? Stop(JsonElement root)
    {
        if (!root.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null) return null;
        string[] list = stop.ValueKind switch
        {
            JsonValueKind.String => [stop.GetString()!],
            JsonValueKind.Array => stop.EnumerateArray().Select(s => s.ValueKind == JsonValueKind.String ? s.GetString()! : throw ApiException.Invalid("stop", "'stop' must be a string or an array of strings")).ToArray(),
            _ => throw ApiException.Invalid("stop", "'stop' must be a string or an array of strings"),
        };
        if (list.Length > StopSequenceFilter.MaxSequences) throw ApiException.Invalid("stop", $"'stop' may hold at most {StopSequenceFilter.MaxSequences} sequences");
        if (list.Any(s => s.Length == 0 || s.Length > StopSequenceFilter.MaxLength))
            throw ApiException.Invalid("stop", $"stop sequences must be 1 to {StopSequenceFilter.MaxLength} characters long");
        return list.Length > 0 ? list : null;
    }

    private static ulong? Seed(JsonElement root)
    {
        if (!root.TryGetProperty("seed", out var seed) || seed.ValueKind == JsonValueKind.Null) return null;
        if (seed.ValueKind == JsonValueKind.Number)
        {
            if (seed.TryGetInt64(out long l)) return unchecked((ulong)l);
            if (seed.TryGetUInt64(out ulong u)) return u;
        }
        throw ApiException.Invalid("seed", "'seed' must be an integer");
    }

    private static IReadOnlyList<int> TokenIds(JsonElement array)
    {
        var ids = new List<int>();
        foreach (var e in array.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int id) || id < 0) throw ApiException.Invalid("prompt", "token ids in 'prompt' must be non-negative integers");
            ids.Add(id);
        }
        if (ids.Count == 0) throw ApiException.Invalid("prompt", "'prompt' must not be empty");
        return ids;
    }

    private static JsonElement Required(JsonElement obj, string name, JsonValueKind? kind, string? path = null)
    {
        path ??= name;
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) throw ApiException.Invalid(path, $"'{path}' is required");
        if (kind is { } k && value.ValueKind != k) throw ApiException.Invalid(path, $"'{path}' must be {Describe(k)}");
        return value;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        _ => kind.ToString().ToLowerInvariant(),
    };

    private static string? String(JsonElement obj, string name, string? path = null)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw ApiException.Invalid(path ?? name, $"'{path ?? name}' must be a string");
    }

    private static bool? Bool(JsonElement obj, string name, string? path = null)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiException.Invalid(path ?? name, $"'{path ?? name}' must be true or false"),
        };
    }

    private static double? Number(JsonElement obj, string name, double min, double max)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double d)) throw ApiException.Invalid(name, $"'{name}' must be a number");
        if (!(d >= min && d <= max)) throw ApiException.Invalid(name, $"'{name}' must be between {min} and {max}, got {d}");
        return d;
    }

    private static int? Integer(JsonElement obj, string name, int min, int max)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long l)) throw ApiException.Invalid(name, $"'{name}' must be an integer");
        if (l < min || l > max) throw ApiException.Invalid(name, $"'{name}' must be between {min} and {max}, got {l}");
        return (int)l;
    }
}
