using System.Text.Json;

namespace FrSpec.Text;

/// <summary>
/// Finds the tool calls in a generated answer, in the formats the chat templates of supported models ask for:
/// <list type="bullet">
/// <item>Hermes / Qwen2.5 / Qwen3: one or more <c>&lt;tool_call&gt;{"name": ..., "arguments": {...}}&lt;/tool_call&gt;</c>
/// blocks, with any text before them as the message content;</item>
/// <item>Llama 3.1 / 3.2: the whole answer is one JSON object <c>{"name": ..., "parameters": {...}}</c> (the
/// <c>&lt;|python_tag|&gt;</c> before it is a special token, dropped when decoding).</item>
/// </list>
/// Anything that does not parse as such a call stays text: a malformed block is returned as content, never guessed at.
/// </summary>
public static class ToolCallParser
{
    /// <summary>The tag that opens a Hermes-style call.</summary>
    public const string OpenTag = "<tool_call>";

    /// <summary>The tag that closes a Hermes-style call.</summary>
    public const string CloseTag = "</tool_call>";

    /// <summary>The message content (text outside the calls, trimmed) and the calls, in order; ids are "call_&lt;n&gt;".</summary>
    public static (string Content, IReadOnlyList<ChatToolCall> Calls) Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int open = text.IndexOf(OpenTag, StringComparison.Ordinal);
        if (open >= 0 && ParseTagged(text, open) is { } tagged) return (text[..open].Trim(), tagged);
        string trimmed = text.Trim();
        if (trimmed.StartsWith('{') && ParseCall(trimmed, 0) is { } call) return ("", [call]);
        return (text, []);
    }

    private static List<ChatToolCall>? ParseTagged(string text, int at)
    {
        var calls = new List<ChatToolCall>();
        while (at < text.Length)
        {
            if (string.CompareOrdinal(text, at, OpenTag, 0, OpenTag.Length) != 0) return null; // text between or after calls: not a clean call list
            int start = at + OpenTag.Length;
            int close = text.IndexOf(CloseTag, start, StringComparison.Ordinal);
            int end = close < 0 ? text.Length : close; // a generation cut off before the closing tag still has a complete JSON object
            if (ParseCall(text[start..end].Trim(), calls.Count) is not { } call) return null;
            calls.Add(call);
            at = close < 0 ? text.Length : close + CloseTag.Length;
            while (at < text.Length && char.IsWhiteSpace(text[at])) at++;
        }
        return calls.Count > 0 ? calls : null;
    }

    /// <summary>A JSON object with a string "name" and an object (or JSON string) "arguments" / "parameters".</summary>
    private static ChatToolCall? ParseCall(string json, int index)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            if (!root.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(name.GetString())) return null;
            string arguments = "{}";
            if (root.TryGetProperty("arguments", out var args) || root.TryGetProperty("parameters", out args))
            {
                arguments = args.ValueKind switch
                {
                    JsonValueKind.Object => args.GetRawText(),
                    JsonValueKind.String when IsJsonObject(args.GetString()!) => args.GetString()!,
                    _ => null!,
                };
                if (arguments == null) return null;
            }
            return new ChatToolCall(name.GetString()!, arguments) { Id = $"call_{index}" };
        }
        catch (JsonException) { return null; }
    }

    private static bool IsJsonObject(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException) { return false; }
    }
}
