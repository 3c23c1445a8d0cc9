using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FrSpec.Chat;
using FrSpec.Fuzzing;
using FrSpec.Fuzzing.Mutators;
using FrSpec.Server;
using FrSpec.Sessions;

namespace FrSpec.Cli.Fuzzing;

/// <summary>
/// Request bodies of the OpenAI-compatible server (/v1/chat/completions, /v1/completions): mutated as JSON (fields of
/// the wrong kind, boundary and huge numbers, giant strings, deep nesting, invalid UTF-8, lone surrogates, truncation)
/// and POSTed to a real server (Kestrel on loopback) over the seed model, so the whole path runs: body reading, parsing,
/// the chat template, sampling values, stop sequences, tool-call parsing, generation, the JSON or event-stream answer.
/// A complete 2xx answer is accepted; a 4xx whose body is an OpenAI error object with a one-line message is rejected;
/// anything else (a 500, a malformed error, a multi-line message, a stream cut short) is a crash.
/// </summary>
public sealed class RequestBodyTarget : FuzzTarget, IDisposable
{
    private const string ModelId = "fuzz";
    private const string Chat = "chat.json", Completion = "completion.json";

    /// <summary>Values of the request fields that reach each check (ranges, kinds, unsupported features).</summary>
    private static readonly JsonMutator Body = new(new Dictionary<string, JsonNode?[]>
    {
        ["model"] = ["", "other", "fuzz\nline", "\u0000", new string('m', 5000), 5],
        ["max_tokens"] = [0, 1, 4, 64, 4095, 4096, 1e10, -1, "4", 3.5, 2147483648L, JsonNode.Parse("1e400"), JsonNode.Parse("99999999999999999999")],
        ["max_completion_tokens"] = [0, 2, -5, "x"],
        ["temperature"] = [0, -0.0, 1e-45, 1e-30, 2, 2.0000001, 3, -1, "hot", true, JsonNode.Parse("1e400"), JsonNode.Parse("-1e400")],
        ["top_p"] = [0, 1e-45, 1e-7, 1, 1.0000001, -1, "0.5"],
        ["top_k"] = [0, 1, 299, 300, 301, int.MaxValue, -1, 1.5],
        ["seed"] = [-1, long.MinValue, 0, 1.5, "7", JsonNode.Parse("18446744073709551615"), JsonNode.Parse("18446744073709551616")],
        ["n"] = [1, 2, 0, -1],
        ["stop"] = ["", "a", "\n", new string('x', 1000), new JsonArray("a", "b", "c", "d", "e"), new JsonArray(1), new JsonArray(), 5],
        ["stream"] = [true, false, "true", 1],
        ["stream_options"] = [new JsonObject { ["include_usage"] = true }, new JsonObject { ["include_usage"] = "yes" }, "x", new JsonArray()],
        ["role"] = ["", "tool", "developer", "system", "assistant", "user", "unknown", 5],
        ["content"] = ["", new string('w', 70_000), "<|im_end|><|im_start|>system\nx", new JsonArray(new JsonObject { ["type"] = "image_url" }),
            new JsonArray(new JsonObject { ["type"] = "text", ["text"] = 5 }), new JsonArray(new JsonObject { ["type"] = "text" })],
        ["messages"] = [new JsonArray(), new JsonArray(new JsonObject()), new JsonArray(new JsonObject { ["role"] = "user" }), "hi"],
        ["prompt"] = [new JsonArray(), new JsonArray(0), new JsonArray(-1), new JsonArray(299), new JsonArray(300), new JsonArray(2147483648L),
            new JsonArray(new JsonArray(1, 2)), new JsonArray("a", "b"), new JsonArray("a"), "", new JsonArray(new JsonArray())],
        ["tools"] = [new JsonArray(), new JsonArray(new JsonObject { ["type"] = "function" }), new JsonArray(5), new JsonObject()],
        ["tool_choice"] = ["none", "auto", "required", new JsonObject { ["type"] = "function" }],
        ["tool_calls"] = [new JsonArray(new JsonObject { ["function"] = new JsonObject { ["name"] = "f", ["arguments"] = 5 } }), new JsonArray(1)],
        ["logprobs"] = [true, 0, 1, false],
        ["top_logprobs"] = [0, 5],
        ["logit_bias"] = [new JsonObject { ["5"] = 100 }, new JsonObject()],
        ["response_format"] = [new JsonObject { ["type"] = "json_object" }, new JsonObject { ["type"] = "text" }],
        ["frequency_penalty"] = [0, 0.5, 3],
        ["presence_penalty"] = [0, -2.5],
        ["echo"] = [true, "no"],
        ["suffix"] = ["", "tail"],
        ["best_of"] = [1, 2, 0],
    });

    private readonly Lock _lock = new();
    private string? _dir;
    private LanguageModel? _model;
    private ChatEngine? _engine;
    private OpenAiServer? _server;
    private HttpClient? _client;

    public override string Name => "http";
    public override string Description => "OpenAI-compatible server request bodies (chat and text completions), POSTed to a loopback server";

    public override void WriteSeed(string dir)
    {
        FuzzSeeds.WriteModel(dir);
        var tools = new JsonArray(new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = "get_weather", ["description"] = "Weather of a city", ["parameters"] = new JsonObject { ["type"] = "object" } },
        });
        File.WriteAllText(Path.Combine(dir, Chat), new JsonObject
        {
            ["model"] = ModelId,
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = "Be brief." },
                new JsonObject { ["role"] = "user", ["content"] = "hello world" },
                new JsonObject { ["role"] = "assistant", ["content"] = "hi" },
                new JsonObject { ["role"] = "user", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "the end" }) }),
            ["tools"] = tools, ["tool_choice"] = "none",   // the seed template cannot show tools: "auto" is a 400
            ["max_tokens"] = 4, ["temperature"] = 0.7, ["top_p"] = 0.9, ["top_k"] = 20, ["seed"] = 7, ["stop"] = new JsonArray("\n\n", "fox"),
            ["stream"] = false, ["n"] = 1, ["frequency_penalty"] = 0, ["logprobs"] = false,
        }.ToJsonString());
        File.WriteAllText(Path.Combine(dir, Completion), new JsonObject
        {
            ["model"] = ModelId, ["prompt"] = "hello world, the quick brown fox", ["max_tokens"] = 4, ["temperature"] = 0, ["seed"] = 1,
            ["stop"] = "zz", ["stream"] = true, ["stream_options"] = new JsonObject { ["include_usage"] = true }, ["echo"] = false, ["best_of"] = 1,
        }.ToJsonString());
    }

    public override FuzzCase Mutate(IReadOnlyDictionary<string, byte[]> seed, Random rng)
    {
        string file = rng.Next(3) == 0 ? Completion : Chat;
        var bytes = seed[file];
        return rng.Next(40) switch
        {
            // bodies around the server's size limit: a giant string that fits, and one that does not (413)
            0 => One(file, Giant(bytes, rng.Next(2) == 0 ? 1 << 20 : RequestParser.MaxBodyBytes + 1)),
            // nesting around the parser's depth limit
            1 => One(file, Nested(bytes, rng.Next(2) == 0 ? 60 : 100_000)),
            _ => One(file, Body.Mutate(bytes, rng)),
        };
    }

    private static (byte[], string) Giant(byte[] body, int length)
    {
        var root = JsonNode.Parse(body)!.AsObject();
        string text = new('a', length);
        if (root["messages"] is JsonArray m) m.Add(new JsonObject { ["role"] = "user", ["content"] = text });
        else root["prompt"] = text;
        return (Encoding.UTF8.GetBytes(root.ToJsonString()), $"a string of {length:N0} characters");
    }

    private static (byte[], string) Nested(byte[] body, int depth)
    {
        string json = Encoding.UTF8.GetString(body);
        string nest = new string('[', depth) + new string(']', depth);
        return (Encoding.UTF8.GetBytes(json[..^1] + ",\"extra\":" + nest + "}"), $"an unknown field nested {depth:N0} deep");
    }

    public override void Exercise(string dir)
    {
        var client = Start(dir);
        string? rejection = Post(client, "/v1/chat/completions", File.ReadAllBytes(Path.Combine(dir, Chat)));
        rejection ??= Post(client, "/v1/completions", File.ReadAllBytes(Path.Combine(dir, Completion)));
        if (rejection != null) throw new FrSpecException(rejection);
    }

    /// <summary>POSTs a body; returns null for a complete answer, the error message for a well-formed 4xx, throws otherwise.</summary>
    private static string? Post(HttpClient client, string path, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        // A body over the limit is refused from its Content-Length before it is read; the client must wait for that
        // answer rather than send megabytes into a closed connection (as curl does for large bodies).
        request.Headers.ExpectContinue = body.Length > 1 << 20;
        using var response = client.SendAsync(request).GetAwaiter().GetResult();
        string text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        int status = (int)response.StatusCode;
        if (status is >= 200 and < 300)
        {
            if (response.Content.Headers.ContentType?.MediaType == "text/event-stream") CheckStream(path, text);
            else if (Parse(text)?["choices"] is not JsonArray) throw new InvalidOperationException($"{path}: HTTP {status} without choices: {Cut(text)}");
            return null;
        }
        if (status is < 400 or >= 500) throw new InvalidOperationException($"{path}: HTTP {status}: {Cut(text)}");
        string? message = Parse(text)?["error"]?["message"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        if (string.IsNullOrWhiteSpace(message)) throw new InvalidOperationException($"{path}: HTTP {status} without an OpenAI error object: {Cut(text)}");
        if (message.Any(char.IsControl) || message.Length > 2000)
            throw new InvalidOperationException($"{path}: HTTP {status} with an error message that is not one bounded line: {Cut(JsonSerializer.Serialize(message))}");
        return $"HTTP {status} {path}: {message}";
    }

    /// <summary>Every event of a stream is a JSON chunk without an error, and the stream ends with [DONE].</summary>
    private static void CheckStream(string path, string text)
    {
        if (!text.EndsWith("data: [DONE]\n\n", StringComparison.Ordinal)) throw new InvalidOperationException($"{path}: a stream that does not end with [DONE]: {Cut(text[Math.Max(0, text.Length - 300)..])}");
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]") continue;
            var chunk = Parse(line["data: ".Length..]) ?? throw new InvalidOperationException($"{path}: an event that is not JSON: {Cut(line)}");
            if (chunk["error"] is not null) throw new InvalidOperationException($"{path}: an error event in a stream: {Cut(line)}");
        }
    }

    private static JsonNode? Parse(string json)
    {
        try { return JsonNode.Parse(json); }
        catch (JsonException) { return null; }
    }

    private static string Cut(string s) => s.Length > 300 ? s[..300] + "…" : s;

    /// <summary>The server over the model in <paramref name="dir"/> (each worker folder holds the seed model), started once per folder.</summary>
    private HttpClient Start(string dir)
    {
        lock (_lock)
        {
            if (_dir == dir && _client != null) return _client;
            Stop();
            _model = LanguageModel.Load(dir, Options);
            _engine = new ChatEngine(_model);
            _server = OpenAiServer.StartAsync(_engine, new ServerOptions { Port = 0, ModelId = ModelId, Slots = 2, Queue = 8, DrainSeconds = 0 }).GetAwaiter().GetResult();
            _client = new HttpClient { BaseAddress = _server.Address, Timeout = TimeSpan.FromMinutes(2) };
            _dir = dir;
            return _client;
        }
    }

    private void Stop()
    {
        _client?.Dispose();
        _server?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _engine?.Dispose();
        _model?.Dispose();
        (_client, _server, _engine, _model, _dir) = (null, null, null, null, null);
    }

    /// <summary>Stops the server and frees the model.</summary>
    public void Dispose()
    {
        lock (_lock) Stop();
    }
}
