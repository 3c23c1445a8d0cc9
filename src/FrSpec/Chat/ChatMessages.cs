using System.Text.Json;
using FrSpec.Text;
using Microsoft.Extensions.AI;
using AI = Microsoft.Extensions.AI;

namespace FrSpec.Chat;

/// <summary>Microsoft.Extensions.AI messages and tools in the shape chat templates read (the OpenAI message layout).</summary>
internal static class ChatMessages
{
    /// <summary>
    /// One template message per message, except that each function result becomes a "tool" message of its own (as the
    /// OpenAI API carries them); <paramref name="instructions"/> become a system message first.
    /// </summary>
    public static List<Text.ChatMessage> ToTemplate(IEnumerable<AI.ChatMessage> messages, string? instructions)
    {
        var list = new List<Text.ChatMessage>();
        if (!string.IsNullOrEmpty(instructions)) list.Add(new Text.ChatMessage("system", instructions));
        foreach (var m in messages)
        {
            ArgumentNullException.ThrowIfNull(m);
            var text = new System.Text.StringBuilder();
            var calls = new List<ChatToolCall>();
            foreach (var content in m.Contents)
                switch (content)
                {
                    case TextContent t: text.Append(t.Text); break;
                    case TextReasoningContent: break; // earlier reasoning is not shown to the model again
                    case FunctionCallContent c: calls.Add(new ChatToolCall(c.Name, JsonSerializer.Serialize(c.Arguments ?? new Dictionary<string, object?>())) { Id = c.CallId }); break;
                    case FunctionResultContent r: list.Add(new Text.ChatMessage("tool", ResultText(r.Result)) { ToolCallId = r.CallId }); break;
                    case UsageContent: break;
                    default: throw new NotSupportedException($"FrSpec chat messages carry text, function calls and function results, not {content.GetType().Name}");
                }
            if (text.Length == 0 && calls.Count == 0 && m.Contents.Any(c => c is FunctionResultContent)) continue;
            // An assistant turn of only tool calls gets content "" rather than None: templates (Qwen's) test `'x' in content`.
            list.Add(new Text.ChatMessage(m.Role.Value, text.ToString())
            {
                Name = m.AuthorName,
                ToolCalls = calls.Count > 0 ? calls : null,
            });
        }
        return list;
    }

    /// <summary>The function declarations as OpenAI tool definitions, or null when there are none.</summary>
    public static IReadOnlyList<ChatTool>? Tools(IList<AITool>? tools)
    {
        if (tools is not { Count: > 0 }) return null;
        var list = new List<ChatTool>();
        foreach (var tool in tools)
        {
            if (tool is not AIFunctionDeclaration f) throw new NotSupportedException($"FrSpec passes function tools to the chat template, not {tool.GetType().Name}");
            list.Add(ChatTool.Function(f.Name, string.IsNullOrEmpty(f.Description) ? null : f.Description, f.JsonSchema));
        }
        return list;
    }

    /// <summary>Tool-call arguments (a JSON object's text) as the dictionary FunctionCallContent carries.</summary>
    public static Dictionary<string, object?> Arguments(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var d = new Dictionary<string, object?>();
        foreach (var p in doc.RootElement.EnumerateObject()) d[p.Name] = p.Value.Clone();
        return d;
    }

    private static string ResultText(object? result) => result switch
    {
        null => "",
        string s => s,
        JsonElement e when e.ValueKind == JsonValueKind.String => e.GetString()!,
        _ => JsonSerializer.Serialize(result),
    };
}
