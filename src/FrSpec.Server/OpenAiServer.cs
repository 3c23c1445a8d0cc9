using System.Net;
using FrSpec.Chat;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FrSpec.Server;

/// <summary>
/// An OpenAI-compatible HTTP server (ASP.NET Core on Kestrel) over a <see cref="ChatEngine"/>:
/// GET /v1/models, POST /v1/chat/completions and /v1/completions (JSON or Server-Sent Events), GET /health.
/// Errors are OpenAI error objects. On shutdown (SIGTERM, Ctrl-C, <see cref="StopAsync"/>) it stops accepting
/// requests, lets in-flight ones finish for <see cref="ServerOptions.DrainSeconds"/>, then cancels the rest.
/// </summary>
public sealed class OpenAiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly SlotGate _gate;
    private readonly ChatEngine _engine;

    /// <summary>The address the server listens on (with the actual port when 0 was asked for).</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Generations running and requests waiting for a slot.</summary>
    public (int Running, int Waiting) Load => (_gate.Running, _gate.Waiting);

    private OpenAiServer(WebApplication app, ChatEngine engine, SlotGate gate)
    {
        _app = app; _engine = engine; _gate = gate;
    }

    /// <summary>
    /// Builds and starts the server. With <paramref name="handleSignals"/>, SIGTERM and Ctrl-C stop it (as `frspec
    /// serve` wants); otherwise only <see cref="StopAsync"/> does (tests and benchmarks embed it).
    /// </summary>
    public static async Task<OpenAiServer> StartAsync(ChatEngine engine, ServerOptions options, bool handleSignals = false)
    {
        ArgumentNullException.ThrowIfNull(engine);
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(options.DrainSeconds + 10));
        if (!handleSignals) builder.Services.AddSingleton<IHostLifetime, ManualLifetime>();
        else builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = RequestParser.MaxBodyBytes;
            if (options.Host == "localhost") k.ListenLocalhost(options.Port);
            else k.Listen(IPAddress.Parse(options.Host), options.Port);
        });
        var app = builder.Build();
        var gate = new SlotGate(options.Slots, options.Queue);
        var server = new OpenAiServer(app, engine, gate);
        var handler = new CompletionHandler(engine, options, gate, server._shutdown.Token);

        long created = new DateTimeOffset(File.GetLastWriteTimeUtc(engine.Model.Directory)).ToUnixTimeSeconds();
        void Model(System.Text.Json.Utf8JsonWriter w)
        {
            w.WriteStartObject();
            w.WriteString("id", options.ModelId);
            w.WriteString("object", "model");
            w.WriteNumber("created", created);
            w.WriteString("owned_by", "frspec");
            w.WriteEndObject();
        }
        app.MapGet("/v1/models", (HttpContext context) => WriteJson(context, ResponseJson.Build(w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            Model(w);
            w.WriteEndArray();
            w.WriteEndObject();
        })));
        app.MapGet("/v1/models/{id}", (HttpContext context, string id) => id == options.ModelId
            ? WriteJson(context, ResponseJson.Build(Model))
            : CompletionHandler.WriteErrorAsync(context, new ApiException(404, $"the model '{id}' does not exist", "invalid_request_error", "model", "model_not_found")));
        app.MapPost("/v1/chat/completions", (HttpContext context) => handler.HandleAsync(context, chat: true));
        app.MapPost("/v1/completions", (HttpContext context) => handler.HandleAsync(context, chat: false));
        app.MapGet("/health", (HttpContext context) => WriteJson(context, ResponseJson.Build(w =>
        {
            w.WriteStartObject();
            w.WriteString("status", server._shutdown.IsCancellationRequested ? "stopping" : "ok");
            w.WriteString("model", options.ModelId);
            w.WriteString("method", engine.Method.Name);
            w.WriteNumber("slots", gate.Slots);
            w.WriteNumber("running", gate.Running);
            w.WriteNumber("waiting", gate.Waiting);
            w.WriteNumber("sessions", engine.SessionCount);
            w.WriteNumber("context_length", engine.ContextLength);
            w.WriteEndObject();
        })));
        app.MapFallback((HttpContext context) => CompletionHandler.WriteErrorAsync(context,
            new ApiException(404, $"no route {context.Request.Method} {context.Request.Path}", "invalid_request_error", null, "unknown_url")));

        // SIGTERM or StopAsync: stop taking requests now, cancel what still runs after the drain time.
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            if (options.DrainSeconds <= 0) server._shutdown.Cancel();
            else server._shutdown.CancelAfter(TimeSpan.FromSeconds(options.DrainSeconds));
        });
        await app.StartAsync().ConfigureAwait(false);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        server.Address = new Uri(addresses.First());
        return server;
    }

    /// <summary>Completes when the server has stopped (after SIGTERM / Ctrl-C with signal handling, or <see cref="StopAsync"/>).</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    /// <summary>Stops accepting requests, drains in-flight ones (up to the drain time), cancels the rest, and stops.</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _shutdown.Dispose();
    }

    private static async Task WriteJson(HttpContext context, ReadOnlyMemory<byte> json)
    {
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>A host lifetime that ignores process signals (the embedding process handles them).</summary>
    private sealed class ManualLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
