using System.CommandLine;
using FrSpec.Chat;
using FrSpec.Cli.Support;
using FrSpec.Server;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec serve`: an OpenAI-compatible HTTP server (chat completions, completions, models, health) over one loaded
/// model, decoding with vanilla (concurrent requests batched), EAGLE-2 or FR-Spec. Runs until SIGTERM or Ctrl-C, then
/// drains in-flight requests and exits 0.
/// </summary>
public sealed class ServeCommand : ICliVerb
{
    public Command Create()
    {
        var models = new ModelOptions();
        var host = new Option<string>("--host") { Description = "Address to listen on (the server has no authentication: keep it on loopback unless a proxy guards it)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port to listen on (0: any free port)", DefaultValueFactory = _ => 8080 };
        var modelId = new Option<string?>("--model-id") { Description = "Model name clients use (default: the model directory's name)" };
        var slots = new Option<int>("--slots") { Description = "Generations that run at once (vanilla ones are batched into one pass per step)", DefaultValueFactory = _ => 16 };
        var queue = new Option<int>("--queue") { Description = "Requests that may wait for a slot; more get 503 with Retry-After", DefaultValueFactory = _ => 64 };
        var drain = new Option<double>("--drain-seconds") { Description = "On SIGTERM, seconds in-flight requests may take to finish before they are cancelled", DefaultValueFactory = _ => 5 };
        var quiet = new Option<bool>("--quiet") { Description = "No log line per request" };
        var cmd = new Command("serve", "Serve the model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models, /health)")
        {
            host, port, modelId, slots, queue, drain, quiet,
        };
        models.AddTo(cmd);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var (model, method, _) = models.Load(pr);
            using var __ = model;
            using var engine = new ChatEngine(model, method);
            var options = new ServerOptions
            {
                Host = pr.GetValue(host)!, Port = pr.GetValue(port), Slots = pr.GetValue(slots), Queue = pr.GetValue(queue), DrainSeconds = pr.GetValue(drain),
                ModelId = pr.GetValue(modelId) ?? DefaultModelId(model.Directory),
                Log = pr.GetValue(quiet) ? null : Console.Error,
            };
            var server = OpenAiServer.StartAsync(engine, options, handleSignals: true).GetAwaiter().GetResult();
            Console.Error.WriteLine($"frspec serve: {options.ModelId} ({method.Name}) on {server.Address} — {options.Slots} slots, queue {options.Queue}; SIGTERM or Ctrl-C stops");
            server.WaitForShutdownAsync().GetAwaiter().GetResult();
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Console.Error.WriteLine("frspec serve: stopped");
            return 0;
        }));
        return cmd;
    }

    /// <summary>The model directory's (or .gguf file's) name.</summary>
    public static string DefaultModelId(string path) => Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));
}
