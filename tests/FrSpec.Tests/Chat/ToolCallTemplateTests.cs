using System.Text.Json;
using FrSpec.Chat;
using FrSpec.Text;
using Microsoft.Extensions.AI;
using AI = Microsoft.Extensions.AI;

namespace FrSpec.Tests.Chat;

/// <summary>
/// Tool use end to end on the real templates: a Microsoft.Extensions.AI conversation with a function call and its result
/// renders through each tool-capable template with the call's name, its arguments and the result in the prompt; the tool
/// list reaches the prompt; and a call the model writes in that family's format comes back parsed from streamed ids.
/// </summary>
public class ToolCallTemplateTests
{
    private static readonly JsonElement Schema = JsonDocument.Parse("""{"type": "object", "properties": {"city": {"type": "string"}}}""").RootElement;

    /// <summary>A package's own template, or a published template file (tests/.../Text/templates) with that package's bos/eos.</summary>
    private static ChatTemplate Template(string package, string? file = null)
    {
        string config = Path.Combine(TestAssets.TokenizerDir(package), "tokenizer_config.json");
        if (file == null) return ChatTemplate.FromTokenizerConfig(config).WithClock(() => new DateTime(2025, 1, 2));
        using var doc = JsonDocument.Parse(File.ReadAllBytes(config));
        string? Token(string name) => doc.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        string jinja = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Text", "templates", file));
        return ChatTemplate.FromJinja(jinja, Token("bos_token"), Token("eos_token"), file).WithClock(() => new DateTime(2025, 1, 2));
    }

    [Theory, InlineData("qwen3", null), InlineData("llama3_1", "llama3.1.jinja"), InlineData("qwen3", "qwen2.5.jinja")]
    public void AToolRoundTripRendersTheCallAndItsResult(string package, string? file)
    {
        var template = Template(package, file);
        Assert.True(template.SupportsTools);
        AI.ChatMessage[] conversation =
        [
            new(ChatRole.User, "Weather in Paris?"),
            new(ChatRole.Assistant, [new FunctionCallContent("call_7", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })]),
            new(ChatRole.Tool, [new FunctionResultContent("call_7", "sunny, 21 C")]),
        ];
        var messages = ChatMessages.ToTemplate(conversation, "Use the tools.");
        var tools = ChatMessages.Tools([new Declaration()]);
        string prompt = template.Render(messages, addGenerationPrompt: true, tools);
        Assert.Contains("get_weather", prompt);
        Assert.Contains("Paris", prompt);
        Assert.Contains("sunny, 21 C", prompt);
        Assert.Contains("Use the tools.", prompt);
    }

    /// <summary>Templates that never print the tool list (so a request with tools is refused rather than silently ignored).</summary>
    [Theory, InlineData("llama2", "llama2.jinja"), InlineData("llama3", null), InlineData("deepseek_v3", null), InlineData("gemma3", null)]
    public void TemplatesWithoutAToolListDoNotSupportTools(string package, string? file) => Assert.False(Template(package, file).SupportsTools);

    [Theory]
    [InlineData("qwen3", "Let me check.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", "Let me check.")]
    [InlineData("llama3_1", "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", "")]
    public void ACallWrittenByTheModelIsParsedFromStreamedIds(string name, string answer, string content)
    {
        var tokenizer = TokenizerLoader.Load(TestAssets.TokenizerDir(name));
        var stream = new StreamingAnswer(tokenizer, null, detectToolCalls: true);
        string streamed = string.Concat(tokenizer.Encode(answer).Select(stream.Push));
        var (tail, calls) = stream.Finish();
        Assert.Equal(content, (streamed + tail).Trim());
        var call = Assert.Single(calls);
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("Paris", JsonDocument.Parse(call.Arguments).RootElement.GetProperty("city").GetString());
    }

    private sealed class Declaration : AIFunctionDeclaration
    {
        public override string Name => "get_weather";
        public override string Description => "Current weather";
        public override JsonElement JsonSchema => Schema;
    }
}
