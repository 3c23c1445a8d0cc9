namespace FrSpec.Text;

/// <summary>
/// One chat turn as chat templates see it (the OpenAI / transformers message layout): role ("system", "user",
/// "assistant", "tool", ...), content (null is passed as None, as an OpenAI message with only tool calls has it),
/// and optionally the assistant's tool calls, the id of the call a tool message answers, a name, and further
/// template-specific fields such as reasoning_content or thinking.
/// </summary>
public sealed record ChatMessage(string Role, string? Content)
{
    /// <summary>Tool calls the assistant made in this turn (rendered as tool_calls).</summary>
    public IReadOnlyList<ChatToolCall>? ToolCalls { get; init; }

    /// <summary>For a tool message: the id of the call it answers (rendered as tool_call_id).</summary>
    public string? ToolCallId { get; init; }

    /// <summary>The author's name, or for a tool message the tool's name (rendered as name).</summary>
    public string? Name { get; init; }

    /// <summary>More fields of the message dictionary, e.g. "reasoning_content" (Qwen3) or "thinking" (gpt-oss).
    /// Values may be strings, numbers, booleans, null, JSON elements, dictionaries and lists.</summary>
    public IReadOnlyDictionary<string, object?>? Properties { get; init; }
}

/// <summary>
/// A tool call made by the assistant: the function's name and its arguments as JSON text (as the OpenAI API carries
/// them). Templates that expect the arguments as an object get them parsed; see <see cref="ChatTemplate"/>.
/// </summary>
public sealed record ChatToolCall(string Name, string Arguments)
{
    /// <summary>The call's id (rendered as id when set).</summary>
    public string? Id { get; init; }
}
