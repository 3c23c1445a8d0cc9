using System.Text;
using FrSpec.Server;

namespace FrSpec.Tests.Server;

/// <summary>
/// The request parser alone: a full chat request (tool definitions, an assistant tool call with null content, a tool
/// result, text content parts, developer role) and a completion request parse into the fields the engine uses; and
/// mutated bodies (bytes flipped, cut, inserted) only ever give an <see cref="ApiException"/>, never another exception.
/// </summary>
public class RequestParserTests
{
    private const string Chat = """
        {"model": "m", "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "Use "}, {"type": "text", "text": "tools."}]},
            {"role": "user", "content": "Weather in Paris?", "name": "ann"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "21 C"}],
         "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}], "tool_choice": "auto",
         "max_completion_tokens": 50, "max_tokens": 10, "temperature": 0.5, "top_p": 0.9, "top_k": 20, "seed": -1,
         "stop": "END", "stream": true, "stream_options": {"include_usage": true}, "n": 1, "user": "ignored", "unknown_field": [1, 2]}
        """;

    [Fact]
    public void AChatRequestParsesIntoMessagesToolsAndSettings()
    {
        var r = RequestParser.ParseChat(Encoding.UTF8.GetBytes(Chat));
        Assert.Equal("m", r.Model);
        var messages = Assert.IsAssignableFrom<IReadOnlyList<FrSpec.Text.ChatMessage>>(r.Messages);
        Assert.Equal(["system", "user", "assistant", "tool"], messages.Select(m => m.Role));
        Assert.Equal("Use tools.", messages[0].Content);
        Assert.Equal("ann", messages[1].Name);
        Assert.Equal("", messages[2].Content); // null content with tool calls: templates get a string
        var call = Assert.Single(messages[2].ToolCalls!);
        Assert.Equal(("get_weather", "{\"city\": \"Paris\"}", "call_1"), (call.Name, call.Arguments, call.Id));
        Assert.Equal("call_1", messages[3].ToolCallId);
        Assert.Single(r.Tools!);
        Assert.Equal(50, r.MaxTokens); // max_completion_tokens wins
        Assert.Equal((0.5f, 0.9f, 20), (r.Temperature, r.TopP, r.TopK));
        Assert.Equal(ulong.MaxValue, r.Seed);
        Assert.Equal(["END"], r.Stop);
        Assert.True(r.Stream && r.IncludeUsage);
    }

    [Fact]
    public void ToolChoiceNoneHidesTheToolsAndCompletionsTakeTokenIds()
    {
        var r = RequestParser.ParseChat(Encoding.UTF8.GetBytes("""{"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "none"}"""));
        Assert.Null(r.Tools);
        var c = RequestParser.ParseCompletion(Encoding.UTF8.GetBytes("""{"prompt": [[5, 6, 7]], "max_tokens": 3}"""));
        Assert.Equal([5, 6, 7], c.PromptIds);
        Assert.Null(c.Prompt);
        Assert.Equal("hi", RequestParser.ParseCompletion(Encoding.UTF8.GetBytes("""{"prompt": ["hi"]}""")).Prompt);
    }

    private const string Punctuation = "{}[]\",:0-9e.ntf\\";

    [Fact]
    public void MutatedBodiesOnlyEverGiveApiErrors()
    {
        var seeds = new[] { Chat, """{"prompt": "Once upon a time", "max_tokens": 5, "stop": ["a", "b"], "seed": 3}""" }.Select(Encoding.UTF8.GetBytes).ToArray();
        var random = new Random(20261201);
        int refused = 0;
        for (int i = 0; i < 3000; i++)
        {
            var body = seeds[i % 2].ToList();
            for (int m = random.Next(1, 4); m > 0 && body.Count > 0; m--)
            {
                int at = random.Next(body.Count);
                switch (random.Next(4))
                {
                    case 0: body[at] = (byte)random.Next(256); break;
                    case 1: body.RemoveRange(at, Math.Min(body.Count - at, random.Next(1, 8))); break;
                    case 2: body.Insert(at, (byte)Punctuation[random.Next(Punctuation.Length)]); break;
                    default: body.RemoveRange(at, body.Count - at); break;
                }
            }
            try
            {
                if (i % 2 == 0) RequestParser.ParseChat(body.ToArray());
                else RequestParser.ParseCompletion(body.ToArray());
            }
            catch (ApiException e)
            {
                Assert.InRange(e.Status, 400, 413);
                Assert.False(string.IsNullOrEmpty(e.Message));
                refused++;
            }
        }
        Assert.InRange(refused, 1000, 3000); // most mutations break the body; some stay valid
    }
}
