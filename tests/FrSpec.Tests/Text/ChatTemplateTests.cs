using System.Text.Json;
using FrSpec.Text;
using FrSpec.Text.Jinja;

namespace FrSpec.Tests.Text;

/// <summary>ChatTemplate's contract around the interpreter: what the template receives, stop tokens, tool-call
/// arguments, named templates, chat_template.jinja, clock, limits and errors.</summary>
public class ChatTemplateTests
{
    private static string TemplatePath(string file) => Path.Combine(AppContext.BaseDirectory, "Text", "templates", file);

    private static string TempModelDir(string? sourcePackage = null)
    {
        var dir = TestTemp.NewDir("chat");
        if (sourcePackage is not null)
            File.Copy(Path.Combine(TestAssets.TokenizerDir(sourcePackage), "tokenizer_config.json"), Path.Combine(dir, "tokenizer_config.json"));
        return dir;
    }

    [Theory]
    [InlineData("llama3", "<|eot_id|>", "<|end_of_text|>")]
    [InlineData("llama3_1", "<|eot_id|>", null)]
    [InlineData("qwen3", "<|im_end|>", null)]
    [InlineData("gemma3", "<end_of_turn>", null)]
    [InlineData("deepseek_v3", "<｜end▁of▁sentence｜>", null)]
    public void StopTokensAreTheTokenAfterAnAnswerPlusEos(string package, string endOfTurn, string? eos)
    {
        var t = ChatTemplate.FromModelDirectory(TestAssets.TokenizerDir(package));
        Assert.Equal(eos is null ? [endOfTurn] : new[] { endOfTurn, eos }, t.StopTokens);
    }

    [Fact]
    public void StopTokensOfBareTemplatesAndPublishedOnes()
    {
        // Without the tokenizer's list of special tokens: the marker of the usual shape right after the answer.
        Assert.Equal(["<|im_end|>"], ChatTemplate.FromJinja(File.ReadAllText(TemplatePath("chatml.jinja"))).StopTokens);
        // Llama-2 writes " </s>" after an answer: the space is skipped, </s> is eos as well.
        Assert.Equal(["</s>"], ChatTemplate.FromJinja(File.ReadAllText(TemplatePath("llama2.jinja")), "<s>", "</s>").StopTokens);
        Assert.Equal(["<|eot_id|>", "<|end_of_text|>"],
            ChatTemplate.FromJinja(File.ReadAllText(TemplatePath("llama3.1.jinja")), "<|begin_of_text|>", "<|end_of_text|>").StopTokens);
        // A template that never prints an answer gives eos only.
        Assert.Equal(["</s>"], ChatTemplate.FromJinja("{{ messages[0].content }}", eosToken: "</s>").StopTokens);
    }

    [Fact]
    public void GptOssPackageHasNoTemplateButAChatTemplateJinjaBesideItsConfigIsUsed()
    {
        var none = Assert.Throws<FrSpecException>(() => ChatTemplate.FromModelDirectory(TestAssets.TokenizerDir("gptoss")));
        Assert.Contains("no chat_template", none.Message);
        var dir = TempModelDir("gptoss");
        try
        {
            // A Harmony-style template: the final answer ends with <|return|> (eos), earlier messages with <|end|>.
            File.WriteAllText(Path.Combine(dir, "chat_template.jinja"),
                "{%- for m in messages %}<|start|>{{ m.role }}<|message|>{{ m.content }}" +
                "{%- if loop.last and m.role == 'assistant' and not add_generation_prompt %}<|return|>{% else %}<|end|>{% endif %}{% endfor %}" +
                "{%- if add_generation_prompt %}<|start|>assistant{% endif %}");
            var t = ChatTemplate.FromModelDirectory(dir);
            Assert.Equal(["<|return|>"], t.StopTokens);
            Assert.Equal("<|startoftext|>", t.BosToken);
            Assert.Equal("<|start|>user<|message|>Hi<|end|><|start|>assistant", t.Render([new("user", "Hi")], true));
            Assert.EndsWith("chat_template.jinja", t.Source);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void StopIdsAreTheStopTokensInTheVocabularyPlusEos()
    {
        var qwen = ChatTemplate.FromModelDirectory(TestAssets.TokenizerDir("qwen3"));
        Assert.Equal([151645], qwen.StopIds(TokenizerLoader.Load(TestAssets.TokenizerDir("qwen3"))));
        var llama = ChatTemplate.FromModelDirectory(TestAssets.TokenizerDir("llama3"));
        Assert.Equal([128009, 128001], llama.StopIds(TokenizerLoader.Load(TestAssets.TokenizerDir("llama3"))));
    }

    [Fact]
    public void TheTemplateReceivesTransformersSpecialTokensAsStrings()
    {
        var dir = TempModelDir("deepseek_v3");
        try
        {
            File.WriteAllText(Path.Combine(dir, "chat_template.jinja"),
                "{{ bos_token }}|{{ eos_token }}|{{ pad_token }}|{{ unk_token is defined }}|{{ additional_special_tokens is defined }}|{{ documents }}|{{ tools }}");
            var t = ChatTemplate.FromModelDirectory(dir);
            // bos/eos/pad are AddedToken objects in this tokenizer_config.json: the template gets their content.
            Assert.Equal("<｜begin▁of▁sentence｜>|<｜end▁of▁sentence｜>|<｜end▁of▁sentence｜>|False|False|None|None", t.Render([new("user", "x")], false));
        }
        finally { Directory.Delete(dir, true); }
        var qwen = ChatTemplate.FromJinja("{{ bos_token is defined }}{{ eos_token }}", null, "<|im_end|>");
        Assert.Equal("False<|im_end|>", qwen.Render([new("user", "x")], false));
    }

    [Fact]
    public void MessagesToolsAndVariablesReachTheTemplateInTransformersLayout()
    {
        var t = ChatTemplate.FromJinja("{{ messages|tojson }}\n{{ tools|tojson }}\n{{ add_generation_prompt }} {{ enable_thinking }} {{ extra|tojson }}");
        var messages = new List<ChatMessage>
        {
            new("user", "Hi") { Name = "ann" },
            new("assistant", null) { ToolCalls = [new ChatToolCall("get_weather", """{"city": "Paris"}""") { Id = "call_1" }] },
            new("tool", "sunny") { ToolCallId = "call_1", Name = "get_weather" },
            new("assistant", "It is sunny.") { Properties = new Dictionary<string, object?> { ["reasoning_content"] = "look it up", ["score"] = 0.5 } },
        };
        var tools = new[] { ChatTool.Function("get_weather", "Weather", JsonDocument.Parse("""{"type": "object", "properties": {}}""").RootElement) };
        string text = t.Render(messages, true, tools, new Dictionary<string, object?> { ["enable_thinking"] = false, ["extra"] = new object?[] { 1, "a", null, true } });
        Assert.True(t.ToolArgumentsAsObject); // it prints the messages (so the arguments) as JSON: they arrive parsed
        Assert.Equal(
            """[{"role": "user", "content": "Hi", "name": "ann"}, {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}, {"role": "tool", "content": "sunny", "name": "get_weather", "tool_call_id": "call_1"}, {"role": "assistant", "content": "It is sunny.", "reasoning_content": "look it up", "score": 0.5}]""" + "\n" +
            """[{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {}}}}]""" + "\n" +
            "True False [1, \"a\", null, true]", text);
    }

    [Fact]
    public void ToolCallArgumentsArePassedAsObjectsToTemplatesThatPrintThemAsJson()
    {
        var qwen = ChatTemplate.FromModelDirectory(TestAssets.TokenizerDir("qwen3"));
        Assert.True(qwen.ToolArgumentsAsObject);
        var call = new ChatMessage("assistant", "") { ToolCalls = [new ChatToolCall("f", """{"b": 1, "a": [true, null]}""")] };
        Assert.Contains("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"b\": 1, \"a\": [true, null]}}\n</tool_call>", qwen.Render([new("user", "q"), call], false));
        // Arguments that are not a JSON object reach the template as text.
        var bad = new ChatMessage("assistant", "") { ToolCalls = [new ChatToolCall("f", "not json")] };
        Assert.Contains("\"arguments\": not json}", qwen.Render([new("user", "q"), bad], false));
        // DeepSeek-V3 concatenates the arguments into the prompt: it gets the JSON text.
        var deepseek = ChatTemplate.FromModelDirectory(TestAssets.TokenizerDir("deepseek_v3"));
        Assert.False(deepseek.ToolArgumentsAsObject);
        var dsCall = new ChatMessage("assistant", null) { ToolCalls = [new ChatToolCall("f", """{"x": 1}""")] };
        Assert.Contains("f\n```json\n{\"x\": 1}\n```", deepseek.Render([new("user", "q"), dsCall], false));
    }

    [Fact]
    public void EnableThinkingAndOtherVariablesAreTemplateVariables()
    {
        var qwen = ChatTemplate.FromModelDirectory(TestAssets.TokenizerDir("qwen3"));
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
            qwen.Render([new("user", "Hi")], true, null, new Dictionary<string, object?> { ["enable_thinking"] = false }));
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", qwen.Render([new("user", "Hi")], true));
        var e = Assert.Throws<FrSpecException>(() => qwen.Render([new("user", "Hi")], true, null, new Dictionary<string, object?> { ["messages"] = 1 }));
        Assert.Contains("'messages' is set by Render", e.Message);
        var unsupported = Assert.Throws<FrSpecException>(() => qwen.Render([new("user", "Hi")], true, null, new Dictionary<string, object?> { ["x"] = new Uri("http://a") }));
        Assert.Contains("template variable x", unsupported.Message);
    }

    [Fact]
    public void NamedTemplatesUseDefaultAndToolUseWithTools()
    {
        var dir = TempModelDir();
        try
        {
            var config = """{"eos_token": "</s>", "chat_template": [{"name": "default", "template": "D{{ messages|length }}</s>"}, {"name": "tool_use", "template": "T{{ tools|length }}"}]}""";
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config);
            var t = ChatTemplate.FromModelDirectory(dir);
            Assert.Equal("D1</s>", t.Render([new("user", "x")], false));
            Assert.Equal("T1", t.Render([new("user", "x")], false, ConversationGenerator.Tools.Take(1).ToList()));
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"chat_template": [{"name": "rag", "template": "x"}]}""");
            Assert.Contains("none called \"default\"", Assert.Throws<FrSpecException>(() => ChatTemplate.FromModelDirectory(dir)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void StrftimeNowUsesTheTemplatesClock()
    {
        var t = ChatTemplate.FromJinja("{{ strftime_now('%d %b %Y') }}").WithClock(() => new DateTime(2025, 3, 4, 5, 6, 7));
        Assert.Equal("04 Mar 2025", t.Render([new("user", "x")], false));
        string today = ChatTemplate.FromJinja("{{ strftime_now('%Y-%m-%d') }}").Render([new("user", "x")], false);
        Assert.True(DateTime.TryParseExact(today, "yyyy-MM-dd", null, System.Globalization.DateTimeStyles.None, out var d) && Math.Abs((d - DateTime.Now.Date).TotalDays) <= 1);
    }

    [Fact]
    public void TemplateErrorsNameTheTemplate()
    {
        var gemma = ChatTemplate.FromModelDirectory(TestAssets.TokenizerDir("gemma3"));
        var e = Assert.Throws<FrSpecException>(() => gemma.Render([new("user", "a"), new("user", "b")], true));
        Assert.Contains("tokenizer_config.json: chat_template: raise_exception at line ", e.Message);
        Assert.EndsWith(": Conversation roles must alternate user/assistant/user/assistant/...", e.Message);
        var syntax = Assert.Throws<FrSpecException>(() => ChatTemplate.FromJinja("{% for m in messages %}\n{{ m.content }", source: "x.json"));
        Assert.StartsWith("x.json: syntax error at line 2, column ", syntax.Message);
        Assert.DoesNotContain('\n', syntax.Message);
        Assert.Contains("no messages", Assert.Throws<FrSpecException>(() => gemma.Render([], true)).Message);
        Assert.Contains("no chat_template", Assert.Throws<FrSpecException>(() => ChatTemplate.FromModelDirectory(TestAssets.TokenizerDir("llama2"))).Message);
        Assert.Contains("file not found", Assert.Throws<FrSpecException>(() => ChatTemplate.FromTokenizerConfig("/nonexistent/tokenizer_config.json")).Message);
    }

    [Fact]
    public void LimitsApplyToRenders()
    {
        var t = ChatTemplate.FromJinja("{% for m in messages %}{{ m.content }}{% endfor %}");
        var big = Enumerable.Range(0, 50).Select(_ => new ChatMessage("user", new string('x', 1000))).ToList();
        Assert.Equal(50_000, t.Render(big, false).Length);
        var e = Assert.Throws<FrSpecException>(() => t.WithLimits(new JinjaLimits { MaxOutputChars = 10_000 }).Render(big, false));
        Assert.Contains("MaxOutputChars", e.Message);
    }

    [Fact]
    public void RendersConcurrentlyWithTheSameResult()
    {
        var t = ChatTemplate.FromModelDirectory(TestAssets.TokenizerDir("qwen3"));
        var cases = ConversationGenerator.Generate(new Random(5), 40, nullToolCallContent: false);
        string Render(ConversationGenerator.Case c)
        {
            try { return t.Render(c.Messages, c.AddGenerationPrompt, c.Tools, c.Variables); }
            catch (FrSpecException e) { return "error: " + e.Message; }
        }
        var sequential = cases.Select(Render).ToList();
        var parallel = cases.AsParallel().AsOrdered().WithDegreeOfParallelism(4).Select(Render).ToList();
        Assert.Equal(sequential, parallel);
        Assert.Contains(sequential, s => s.Contains("<tool_call>"));
    }

    [Fact]
    public void ChatToolDefinitionsAreJsonObjects()
    {
        var f = ChatTool.Function("f", null, null);
        Assert.Equal("""{"type":"function","function":{"name":"f"}}""", f.Definition.GetRawText());
        Assert.Throws<FrSpecException>(() => ChatTool.FromJson("[1]"));
        Assert.Throws<FrSpecException>(() => ChatTool.FromJson("{"));
    }
}
