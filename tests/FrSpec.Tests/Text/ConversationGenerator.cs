using FrSpec.Text;

namespace FrSpec.Tests.Text;

/// <summary>Seeded chat conversations for the template parity tests: plain alternating chats, chats with tools, tool
/// calls and tool results, and irregular ones (several system messages, consecutive roles, ending on any role).</summary>
internal static class ConversationGenerator
{
    public sealed record Case(List<ChatMessage> Messages, bool AddGenerationPrompt, IReadOnlyList<ChatTool>? Tools, Dictionary<string, object?> Variables);

    private static readonly string[] UserContents =
    [
        "Hello!", "  What is 2+2?  ", "Write a poem about the sea.\nMake it short.", "\n\nLeading newlines", "Trailing newlines\n\n",
        "Ünïcödé: 日本語, 한국어, emoji 😀 👩‍💻", "Tabs\tand  spaces ", "Sure: ```python\nprint('hi')\n```",
        "It's <b>bold</b> & \"quoted\" \\ backslash", "x", "", "{{ not jinja }} {% neither %} {# nor #}",
        "<tool_response>\nsunny\n</tool_response>", "control \u0001 and \u2028 separators", "<|im_start|>special text<|im_end|>",
    ];

    // No leading or trailing spaces: @huggingface/jinja's lstrip('\n') strips them too (Qwen3 applies it to answers).
    private static readonly string[] AssistantContents =
    [
        "Hi there!", "The answer is 4.", "<think>\nreasoning here\n</think>\n\nThe answer is 4.", "<think>\n\nplan\n\n</think>\n\nDone.",
        "Line one\nLine two", "Ünïcödé 😀", "", "It's \"quoted\" & <tagged>", "x",
    ];

    // Not empty: @huggingface/jinja compares "" != false loosely (Llama-2's template does).
    private static readonly string[] Systems = ["You are a helpful assistant.", "  Be concise.  ", "You are a pirate.\nSpeak like one.", "Système : réponds en français."];

    public static readonly IReadOnlyList<ChatTool> Tools =
    [
        ChatTool.FromJson("""{"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city", "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Unit"}}, "required": ["city"]}}}"""),
        ChatTool.Function("search", "Search the web — ünïcode \"quoted\"", System.Text.Json.JsonDocument.Parse(
            """{"type": "object", "properties": {"query": {"type": "string", "description": "Query"}, "top_k": {"type": "integer", "description": "How many", "default": 5}, "weight": {"type": "number", "description": "Weight", "default": 0.5}, "tags": {"type": "array", "items": {"type": "string"}, "description": "Tags"}}, "required": ["query"]}""").RootElement),
    ];

    private static readonly string[] Arguments =
    [
        """{"city": "Paris", "unit": "celsius"}""", """{"city": "Zürich"}""", """{"query": "ünï \"q\" 😀", "top_k": 3, "tags": ["a", "b"], "weight": 2.5}""",
    ];

    private static readonly string[] ToolResults = ["""{"temperature": 21, "sky": "clear"}""", "sunny", "ünï 😀 \"result\"", ""];

    /// <summary>
    /// <paramref name="nullToolCallContent"/>: whether an assistant message with tool calls may have null content (the
    /// OpenAI layout, which DeepSeek-V3's template requires); otherwise it has "" (Qwen's and Llama's templates need a
    /// string, and @huggingface/jinja refuses string filters on None where Python prints "None").
    /// </summary>
    public static List<Case> Generate(Random rng, int count, bool nullToolCallContent)
    {
        var cases = new List<Case>();
        for (int c = 0; c < count; c++)
        {
            int kind = c % 3;
            var messages = new List<ChatMessage>();
            if (rng.Next(2) == 0) messages.Add(new("system", Pick(rng, Systems)));
            int turns = 1 + rng.Next(4);
            for (int t = 0; t < turns; t++)
            {
                messages.Add(new("user", Pick(rng, UserContents)));
                if (kind == 1 && rng.Next(2) == 0)
                {
                    int calls = rng.Next(5) == 0 ? 2 : 1;
                    var toolCalls = Enumerable.Range(0, calls).Select(k => new ChatToolCall(k == 0 ? "get_weather" : "search", Pick(rng, Arguments)) { Id = $"call_{t}_{k}" }).ToList();
                    messages.Add(new("assistant", nullToolCallContent && rng.Next(3) > 0 ? null : "") { ToolCalls = toolCalls });
                    for (int k = 0; k < calls; k++)
                        messages.Add(new("tool", Pick(rng, ToolResults)) { ToolCallId = $"call_{t}_{k}", Name = rng.Next(2) == 0 ? toolCalls[k].Name : null });
                }
                bool answered = t < turns - 1 || rng.Next(3) > 0;
                if (answered) messages.Add(new("assistant", Pick(rng, AssistantContents)));
                if (kind == 2 && rng.Next(4) == 0) messages.Add(new(rng.Next(2) == 0 ? "system" : "user", Pick(rng, Systems)));
            }
            var variables = new Dictionary<string, object?>();
            if (rng.Next(3) == 0) variables["enable_thinking"] = rng.Next(2) == 0;
            if (rng.Next(4) == 0) variables["date_string"] = "01 Jan 2025";
            if (rng.Next(5) == 0) variables["tools_in_user_message"] = false;
            if (rng.Next(5) == 0) variables["custom_instructions"] = new List<object?> { "a", 1, null };
            cases.Add(new Case(messages, rng.Next(2) == 0, kind == 1 ? Tools : null, variables));
        }
        return cases;
    }

    private static string Pick(Random rng, string[] items) => items[rng.Next(items.Length)];
}
