using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FrSpec.Chat;
using FrSpec.Server;
using FrSpec.Sessions;

namespace FrSpec.Tests.Server;

/// <summary>The demo model (bundled in demo/), loaded once for a test class, served on 127.0.0.1 at a free port.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const string ModelId = "frspec-demo";

    public static string Demo(string part) => Path.Combine(Benchmarks.RepoFiles.Root, "demo", part);

    public LanguageModel Model { get; private set; } = null!;
    public ChatEngine Engine { get; private set; } = null!;
    public OpenAiServer Server { get; private set; } = null!;
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromMinutes(2) };
    public Uri Address => Server.Address;

    public async Task InitializeAsync()
    {
        Model = LanguageModel.Load(Demo("target"));
        Engine = new ChatEngine(Model);
        Server = await OpenAiServer.StartAsync(Engine, new ServerOptions { Port = 0, ModelId = ModelId, Slots = 8, Queue = 32 });
        Http.BaseAddress = Server.Address;
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Http.Dispose();
        Engine.Dispose();
        Model.Dispose();
    }

    /// <summary>POSTs a JSON body (given as text, so malformed bodies can be sent too).</summary>
    public static async Task<(int Status, JsonElement Body, HttpResponseMessage Response)> Post(HttpClient http, string path, string json, CancellationToken cancel = default)
    {
        using var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var response = await http.PostAsync(path, content, cancel);
        string text = await response.Content.ReadAsStringAsync(cancel);
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), response);
    }

    public Task<(int Status, JsonElement Body, HttpResponseMessage Response)> Post(string path, string json) => Post(Http, path, json);

    /// <summary>The data events of a Server-Sent Events response, up to and excluding [DONE] (which must come last).</summary>
    public static async Task<List<JsonElement>> Events(HttpResponseMessage response)
    {
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        string body = await response.Content.ReadAsStringAsync();
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        return events[..^1].Select(e =>
        {
            Assert.StartsWith("data: ", e);
            return JsonDocument.Parse(e["data: ".Length..]).RootElement.Clone();
        }).ToList();
    }
}
