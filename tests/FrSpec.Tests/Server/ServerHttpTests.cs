using System.Text.Json;
using FrSpec.Generation;

namespace FrSpec.Tests.Server;

/// <summary>
/// The OpenAI-compatible endpoints over raw HTTP against a live server on the demo model: response layouts, streaming
/// (SSE chunks, [DONE], include_usage), stop sequences across token boundaries, concurrent requests (batched) equal to
/// their generations alone, and OpenAI-shaped errors for every kind of bad request.
/// </summary>
public class ServerHttpTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static string Chat(string user, int maxTokens, string extra = "") =>
        $$"""{"model": "{{ServerFixture.ModelId}}", "messages": [{"role": "system", "content": "You are brief."}, {"role": "user", "content": {{JsonSerializer.Serialize(user)}}}], "max_tokens": {{maxTokens}}, "temperature": 0{{extra}}}""";

    private int[] ExpectedChatIds(string user, int maxTokens)
    {
        var prompt = server.Model.Vocabulary.EncodeChat([new("system", "You are brief."), new("user", user)]);
        using var session = server.Model.CreateSession();
        return session.Generate(prompt, new GenerationOptions { MaxNewTokens = maxTokens }).Ids;
    }

    [Fact]
    public async Task ModelsAndHealth()
    {
        var models = JsonDocument.Parse(await server.Http.GetStringAsync("/v1/models")).RootElement;
        Assert.Equal("list", models.GetProperty("object").GetString());
        Assert.Equal(ServerFixture.ModelId, models.GetProperty("data")[0].GetProperty("id").GetString());
        var health = JsonDocument.Parse(await server.Http.GetStringAsync("/health")).RootElement;
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal("vanilla", health.GetProperty("method").GetString());
        Assert.Equal(4096, health.GetProperty("context_length").GetInt32());
    }

    [Fact]
    public async Task ChatCompletionIsTheGreedyGenerationWithUsageAndStatistics()
    {
        var (status, body, _) = await server.Post("/v1/chat/completions", Chat("Tell me about the sea.", 24));
        Assert.Equal(200, status);
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.Equal(ServerFixture.ModelId, body.GetProperty("model").GetString());
        var choice = body.GetProperty("choices")[0];
        var expected = ExpectedChatIds("Tell me about the sea.", 24);
        Assert.Equal(server.Model.Vocabulary.Decode(expected), choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal(expected.Length == 24 && !server.Model.Vocabulary.StopTokens.Contains(expected[^1]) ? "length" : "stop", choice.GetProperty("finish_reason").GetString());
        var usage = body.GetProperty("usage");
        Assert.Equal(expected.Length, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + expected.Length, usage.GetProperty("total_tokens").GetInt32());
        var stats = usage.GetProperty("frspec");
        Assert.Equal("vanilla", stats.GetProperty("method").GetString());
        Assert.Equal(1.0, stats.GetProperty("mean_accepted_length").GetDouble());
        Assert.True(stats.GetProperty("time").GetProperty("verify").GetDouble() > 0);
    }

    [Fact]
    public async Task StreamedChatHasTheSameTextChunkByChunkThenUsageAndDone()
    {
        var (_, plain, _) = await server.Post("/v1/chat/completions", Chat("Name three colours.", 20));
        var (status, _, response) = await PostStream("/v1/chat/completions", Chat("Name three colours.", 20, """, "stream": true, "stream_options": {"include_usage": true}"""));
        Assert.Equal(200, status);
        var events = await ServerFixture.Events(response);
        Assert.All(events, e => Assert.Equal("chat.completion.chunk", e.GetProperty("object").GetString()));
        Assert.Equal("assistant", events[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var usageEvent = events[^1];
        Assert.Equal(0, usageEvent.GetProperty("choices").GetArrayLength());
        Assert.Equal(plain.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), usageEvent.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var finish = events[^2].GetProperty("choices")[0];
        Assert.Equal(plain.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), finish.GetProperty("finish_reason").GetString());
        string text = string.Concat(events[..^2].Select(e => e.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) ? c.GetString() : ""));
        Assert.Equal(plain.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), text);
        Assert.True(events.Count > 4, "one chunk per piece of text");
        Assert.Single(events.Select(e => e.GetProperty("id").GetString()).Distinct());
    }

    [Fact]
    public async Task CompletionsTakeTextOrTokenIdsAndStream()
    {
        var ids = server.Model.Vocabulary.Encode("The history of the printing press");
        using var session = server.Model.CreateSession();
        var expected = session.Generate(ids, new GenerationOptions { MaxNewTokens = 12 }).Ids;
        string text = server.Model.Vocabulary.Decode(expected);

        var (status, body, _) = await server.Post("/v1/completions", """{"prompt": "The history of the printing press", "max_tokens": 12, "temperature": 0}""");
        Assert.Equal(200, status);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.Equal(text, body.GetProperty("choices")[0].GetProperty("text").GetString());

        var (_, byIds, _) = await server.Post("/v1/completions", $$"""{"prompt": [{{string.Join(",", ids)}}], "max_tokens": 12, "temperature": 0}""");
        Assert.Equal(text, byIds.GetProperty("choices")[0].GetProperty("text").GetString());

        var (_, _, response) = await PostStream("/v1/completions", """{"prompt": "The history of the printing press", "max_tokens": 12, "temperature": 0, "stream": true}""");
        var events = await ServerFixture.Events(response);
        Assert.Equal(text, string.Concat(events.Select(e => e.GetProperty("choices")[0].GetProperty("text").GetString())));
        Assert.Equal("length", events[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task StopSequencesEndTheAnswerAcrossTokenBoundariesWithoutTheStopText()
    {
        var (_, full, _) = await server.Post("/v1/completions", """{"prompt": "Once upon a time", "max_tokens": 40, "temperature": 0}""");
        string text = full.GetProperty("choices")[0].GetProperty("text").GetString()!;
        var ids = server.Model.Vocabulary.Encode("Once upon a time");
        using var session = server.Model.CreateSession();
        var generated = session.Generate(ids, new GenerationOptions { MaxNewTokens = 40 }).Ids;
        // a stop text that starts inside one token and ends inside a later one
        string first = server.Model.Vocabulary.Decode(generated[..6]);
        string stop = text.Substring(first.Length - 1, 4);
        Assert.True(stop.Length == 4 && text.IndexOf(stop, StringComparison.Ordinal) >= 0);
        int at = text.IndexOf(stop, StringComparison.Ordinal);
        string body = $$"""{"prompt": "Once upon a time", "max_tokens": 40, "temperature": 0, "stop": [{{JsonSerializer.Serialize(stop)}}, "\u0000never"]}""";
        var (status, stopped, _) = await server.Post("/v1/completions", body);
        Assert.Equal(200, status);
        Assert.Equal(text[..at], stopped.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("stop", stopped.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.True(stopped.GetProperty("usage").GetProperty("completion_tokens").GetInt32() < 40, "generation stopped early");

        var (_, _, response) = await PostStream("/v1/completions", body.Replace("\"temperature\": 0", "\"temperature\": 0, \"stream\": true"));
        var events = await ServerFixture.Events(response);
        Assert.Equal(text[..at], string.Concat(events.Select(e => e.GetProperty("choices")[0].GetProperty("text").GetString())));
    }

    [Fact]
    public async Task ConcurrentRequestsAreBatchedAndEachEqualsItsGenerationAlone()
    {
        string[] questions = ["What is rain?", "Write a poem.", "def add(a, b):", "Explain the moon.", "List four fruits.", "Why is the sky blue?"];
        var expected = questions.Select((q, i) => ExpectedChatIds(q, 10 + 3 * i)).ToArray();
        var replies = await Task.WhenAll(questions.Select((q, i) => server.Post("/v1/chat/completions", Chat(q, 10 + 3 * i))));
        for (int i = 0; i < questions.Length; i++)
        {
            Assert.Equal(200, replies[i].Status);
            Assert.Equal(server.Model.Vocabulary.Decode(expected[i]), replies[i].Body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            Assert.Equal(expected[i].Length, replies[i].Body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }
    }

    public static TheoryData<string, string, int, string?, string?> BadRequests => new()
    {
        { "/v1/chat/completions", "{\"messages\": [", 400, null, "invalid_json" },
        { "/v1/chat/completions", "[1, 2]", 400, null, "invalid_json" },
        { "/v1/chat/completions", "{}", 400, "messages", null },
        { "/v1/chat/completions", "{\"messages\": []}", 400, "messages", null },
        { "/v1/chat/completions", "{\"messages\": [{\"content\": \"hi\"}]}", 400, "messages[0].role", null },
        { "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}", 400, "messages[0].content[0].type", "unsupported_parameter" },
        { "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"temperature\": 2.5}", 400, "temperature", null },
        { "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"temperature\": \"hot\"}", 400, "temperature", null },
        { "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"top_p\": 0}", 400, "top_p", null },
        { "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 0}", 400, "max_tokens", null },
        { "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 1.5}", 400, "max_tokens", null },
        { "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"n\": 2}", 400, "n", "unsupported_parameter" },
        { "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stop\": [\"\"]}", 400, "stop", null },
        { "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stream_options\": {\"include_usage\": true}}", 400, "stream_options", null },
        { "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"presence_penalty\": 1}", 400, "presence_penalty", "unsupported_parameter" },
        { "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"logprobs\": true}", 400, "logprobs", "unsupported_parameter" },
        { "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tool_choice\": \"required\", \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]}", 400, "tool_choice", "unsupported_parameter" },
        { "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tools\": [{\"type\": \"function\", \"function\": {}}]}", 400, "tools[0].function.name", null },
        { "/v1/chat/completions", "{\"model\": \"gpt-4o\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", 404, "model", "model_not_found" },
        { "/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 5000}", 400, "max_tokens", "context_length_exceeded" },
        { "/v1/completions", "{\"prompt\": [\"a\", \"b\"]}", 400, "prompt", "unsupported_parameter" },
        { "/v1/completions", "{\"prompt\": 7}", 400, "prompt", null },
        { "/v1/completions", "{\"prompt\": [1, 2, 99999999]}", 400, "prompt", null },
        { "/v1/completions", "{\"prompt\": \"hi\", \"echo\": true}", 400, "echo", "unsupported_parameter" },
        { "/v1/embeddings", "{\"input\": \"hi\"}", 404, null, "unknown_url" },
    };

    [Theory, MemberData(nameof(BadRequests))]
    public async Task BadRequestsGetOpenAiErrors(string path, string body, int status, string? param, string? code)
    {
        var (actual, json, _) = await server.Post(path, body);
        Assert.Equal(status, actual);
        var error = json.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));
        Assert.Equal(param, error.GetProperty("param").ValueKind == JsonValueKind.Null ? null : error.GetProperty("param").GetString());
        if (code != null) Assert.Equal(code, error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task AContextOverflowByTheMessagesAloneIsRefused()
    {
        string longText = string.Join(" ", Enumerable.Repeat("ocean", 5000));
        var (status, json, _) = await server.Post("/v1/chat/completions", $$"""{"messages": [{"role": "user", "content": "{{longText}}"}]}""");
        Assert.Equal(400, status);
        Assert.Equal("context_length_exceeded", json.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("messages", json.GetProperty("error").GetProperty("param").GetString());
    }

    private async Task<(int Status, string Text, HttpResponseMessage Response)> PostStream(string path, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        var response = await server.Http.SendAsync(request);
        return ((int)response.StatusCode, "", response);
    }
}
