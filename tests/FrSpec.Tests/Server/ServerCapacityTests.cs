using System.Diagnostics;
using System.Text.Json;
using FrSpec.Chat;
using FrSpec.Server;
using FrSpec.Sessions;

namespace FrSpec.Tests.Server;

/// <summary>
/// Admission and disconnects on a server with one slot and no queue: a second request gets 503 with Retry-After, a
/// client that disconnects mid-stream stops its generation (the slot is free again within a moment) and the next
/// request is served; a client that leaves while queued leaves the queue.
/// </summary>
public class ServerCapacityTests
{
    private static string LongStream(int maxTokens = 3000) =>
        $$"""{"prompt": "Once upon a time", "max_tokens": {{maxTokens}}, "temperature": 0, "stream": true}""";

    private static async Task<JsonElement> Health(HttpClient http) => JsonDocument.Parse(await http.GetStringAsync("/health")).RootElement.Clone();

    private static async Task WaitUntil(Func<Task<bool>> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"timed out waiting until {what}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task AFullServerAnswers503AndADisconnectFreesTheSlot()
    {
        using var model = LanguageModel.Load(ServerFixture.Demo("target"));
        using var engine = new ChatEngine(model);
        await using var server = await OpenAiServer.StartAsync(engine, new ServerOptions { Port = 0, ModelId = "m", Slots = 1, Queue = 0, RetryAfterSeconds = 2 });
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(2) };

        // a long streaming answer takes the only slot
        using var leave = new CancellationTokenSource();
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(LongStream()) };
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, leave.Token);
        var stream = await response.Content.ReadAsStreamAsync(leave.Token);
        var reader = new StreamReader(stream);
        Assert.StartsWith("data: ", await reader.ReadLineAsync(leave.Token)); // tokens are flowing
        Assert.Equal(1, (await Health(http)).GetProperty("running").GetInt32());

        var (status, body, refused) = await ServerFixture.Post(http, "/v1/completions", """{"prompt": "Hi", "max_tokens": 2}""");
        Assert.Equal(503, status);
        Assert.Equal("server_overloaded", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("2", refused.Headers.GetValues("Retry-After").Single());

        // the client goes away: its generation stops and its slot is free
        leave.Cancel();
        response.Dispose();
        await WaitUntil(async () => (await Health(http)).GetProperty("running").GetInt32() == 0, "the disconnected client's slot is free");
        var (again, answer, _) = await ServerFixture.Post(http, "/v1/completions", """{"prompt": "Hi", "max_tokens": 2, "temperature": 0}""");
        Assert.Equal(200, again);
        Assert.Equal(2, answer.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task AClientThatLeavesTheQueueFreesItsPlace()
    {
        using var model = LanguageModel.Load(ServerFixture.Demo("target"));
        using var engine = new ChatEngine(model);
        await using var server = await OpenAiServer.StartAsync(engine, new ServerOptions { Port = 0, ModelId = "m", Slots = 1, Queue = 1 });
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(2) };

        using var first = new CancellationTokenSource();
        var running = http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(LongStream()) }, HttpCompletionOption.ResponseHeadersRead, first.Token);
        await WaitUntil(async () => (await Health(http)).GetProperty("running").GetInt32() == 1, "the first request runs");
        using var second = new CancellationTokenSource();
        var queued = http.PostAsync("/v1/completions", new StringContent("""{"prompt": "Hi", "max_tokens": 2}"""), second.Token);
        await WaitUntil(async () => (await Health(http)).GetProperty("waiting").GetInt32() == 1, "the second request waits");
        second.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
        await WaitUntil(async () => (await Health(http)).GetProperty("waiting").GetInt32() == 0, "the queue is empty again");
        first.Cancel();
        try { (await running).Dispose(); } catch (OperationCanceledException) { }
        await WaitUntil(async () => (await Health(http)).GetProperty("running").GetInt32() == 0, "the slot is free");
    }
}
