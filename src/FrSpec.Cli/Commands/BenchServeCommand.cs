using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using FrSpec.Chat;
using FrSpec.Cli.Support;
using FrSpec.Server;
using static FrSpec.Cli.Support.StreamingLoad;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec bench serve`: the server under load, on loopback. For each client count, that many concurrent streaming
/// clients send requests for a bounded time (some disconnect mid-answer on purpose); it reports requests completed,
/// errors, time to first token and throughput percentiles, checks that every slot is free afterwards, and the
/// process memory before and after. Vanilla requests are batched (one pass per step for all of them), so aggregate
/// throughput grows with the number of clients.
/// </summary>
public sealed class BenchServeCommand : ICliVerb
{
    public string Parent => "bench";

    public Command Create()
    {
        string? demo = BenchmarkDataLocator.FindContentRoot() is { } root ? Path.Combine(root, "demo", "target") : null;
        var models = new ModelOptions(demo ?? "demo/target");
        var clients = new Option<int[]>("--clients") { Description = "Concurrent clients per level (comma or space separated)", DefaultValueFactory = _ => [1, 4, 16, 64], AllowMultipleArgumentsPerToken = true, CustomParser = r => ParseList(r.Tokens.Select(t => t.Value)) };
        var seconds = new Option<double>("--seconds") { Description = "Seconds each level sends requests", DefaultValueFactory = _ => 10 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens per answer", DefaultValueFactory = _ => 64 };
        var cancelEvery = new Option<int>("--cancel-every") { Description = "Every n-th request disconnects after 3 pieces (0: none)", DefaultValueFactory = _ => 8 };
        var json = new Option<string?>("--json") { Description = "Also write the results to this JSON file" };
        var force = new Option<bool>("--force") { Description = "Replace the --json file when it exists" };
        var cmd = new Command("serve", "Load-test the OpenAI-compatible server with concurrent streaming clients on loopback")
        {
            clients, seconds, maxTokens, cancelEvery, json, force,
        };
        models.AddTo(cmd);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var levels = pr.GetValue(clients)!;
            if (levels.Length == 0) throw new FrSpecException("--clients: give at least one count");   // values: OptionRanges
            if (pr.GetValue(json) is string file)
                OutputFile.Check(file, pr.GetValue(force), "--json", new OutputFolder.Input(pr.GetValue(models.Model), "--model"), new OutputFolder.Input(pr.GetValue(models.Drafters.Eagle), "--eagle"),
                    new OutputFolder.Input(pr.GetValue(models.Drafters.DraftModel), "--draft-model"), new OutputFolder.Input(pr.GetValue(models.Drafters.Medusa), "--medusa"));
            var (model, method, _) = models.Load(pr);
            using var __ = model;
            using var engine = new ChatEngine(model, method);
            return Run(engine, levels, TimeSpan.FromSeconds(pr.GetValue(seconds)), pr.GetValue(maxTokens), pr.GetValue(cancelEvery), pr.GetValue(json)).GetAwaiter().GetResult();
        }));
        return cmd;
    }

    private static int[] ParseList(IEnumerable<string> tokens) =>
        tokens.SelectMany(t => t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(t => int.TryParse(t, out int n) ? n : throw new FrSpecException($"--clients: '{t}' is not a number")).ToArray();

    private static async Task<int> Run(ChatEngine engine, int[] levels, TimeSpan duration, int maxTokens, int cancelEvery, string? jsonFile)
    {
        int most = levels.Max();
        var options = new ServerOptions { Port = 0, ModelId = "bench", Slots = most, Queue = most, DrainSeconds = 0 };
        await using var server = await OpenAiServer.StartAsync(engine, options);
        // MaxResponseDrainSize 0: a client that leaves mid-answer closes its connection at once (by default the handler
        // would keep reading the rest of the stream to reuse the connection, so the server would never see it leave).
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 4 * most, PooledConnectionLifetime = TimeSpan.FromMinutes(10), MaxResponseDrainSize = 0 };
        using var http = new HttpClient(handler) { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(10) };
        var prompts = DemoCommand.DefaultPrompts;
        Console.WriteLine($"bench serve: {engine.Model.Directory} ({engine.Method.Name}), {server.Address}, {maxTokens} tokens per answer, greedy, every {(cancelEvery > 0 ? cancelEvery.ToString() : "no")}-th request disconnects after 3 pieces, {duration.TotalSeconds:F0} s per level");

        // warm-up at the largest level: compiled (tier-1) kernels for every batch size, all sessions created
        await StreamingLoad.RunAsync(http, most, TimeSpan.FromSeconds(Math.Min(3, duration.TotalSeconds)), prompts, maxTokens, cancelEvery);
        var (heapBefore, rssBefore) = Memory();
        Console.WriteLine($"memory before: GC heap {heapBefore:F1} MB, working set {rssBefore:F1} MB");
        Console.WriteLine();
        Console.WriteLine($"{"clients",7} {"requests",8} {"cancelled",9} {"errors",6} {"503",4} {"TTFT p50/p90/p99 ms",20} {"tokens/s",9} {"x1 client",9} {"per-s p10/p50/p90",18} {"req tok/s p50",13} {"slots freed",11} {"heap MB",8}");
        var results = new List<(LoadResult Result, bool Freed, double Heap)>();
        double? baseline = null;
        foreach (int n in levels)
        {
            var r = await StreamingLoad.RunAsync(http, n, duration, prompts, maxTokens, cancelEvery);
            bool freed = await SlotsFreed(server);
            var (heap, _) = Memory();
            results.Add((r, freed, heap));
            baseline ??= r.TokensPerSecond;
            string ttft = $"{Quantile(r.FirstTokenSeconds, 0.5) * 1000:F0}/{Quantile(r.FirstTokenSeconds, 0.9) * 1000:F0}/{Quantile(r.FirstTokenSeconds, 0.99) * 1000:F0}";
            string perSecond = $"{Quantile(r.AggregatePerSecond, 0.1):F0}/{Quantile(r.AggregatePerSecond, 0.5):F0}/{Quantile(r.AggregatePerSecond, 0.9):F0}";
            Console.WriteLine($"{n,7} {r.Completed,8} {r.Cancelled,9} {r.Errors,6} {r.Refused,4} {ttft,20} {r.TokensPerSecond,9:F1} {r.TokensPerSecond / baseline,8:F2}x {perSecond,18} {Quantile(r.RequestTokensPerSecond, 0.5),13:F1} {(freed ? "yes" : "NO"),11} {heap,8:F1}");
        }
        var (heapAfter, rssAfter) = Memory();
        Console.WriteLine();
        Console.WriteLine($"memory after: GC heap {heapAfter:F1} MB, working set {rssAfter:F1} MB; {engine.SessionCount} sessions pooled");
        if (jsonFile != null)
            OutputFile.WriteAllText(jsonFile, JsonSerializer.Serialize(new
            {
                model = engine.Model.Directory, method = engine.Method.Name, max_tokens = maxTokens, seconds = duration.TotalSeconds, cancel_every = cancelEvery,
                memory_before_mb = new { heap = heapBefore, working_set = rssBefore }, memory_after_mb = new { heap = heapAfter, working_set = rssAfter },
                levels = results.Select(x => new
                {
                    clients = x.Result.Clients, completed = x.Result.Completed, cancelled = x.Result.Cancelled, errors = x.Result.Errors, refused = x.Result.Refused,
                    tokens = x.Result.Tokens, seconds = x.Result.Seconds, tokens_per_second = x.Result.TokensPerSecond,
                    ttft_ms = new[] { 0.5, 0.9, 0.99 }.Select(q => Quantile(x.Result.FirstTokenSeconds, q) * 1000).ToArray(),
                    request_tokens_per_second_p50 = Quantile(x.Result.RequestTokensPerSecond, 0.5), slots_freed = x.Freed, heap_mb = x.Heap,
                }),
            }, new JsonSerializerOptions { WriteIndented = true }));
        return results.All(x => x.Result.Errors == 0 && x.Freed) ? 0 : 1;
    }

    /// <summary>True when no generation runs and none waits (cancelled clients released their slots).</summary>
    private static async Task<bool> SlotsFreed(OpenAiServer server)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (server.Load == (0, 0)) return true;
            await Task.Delay(20);
        }
        return false;
    }

    private static (double HeapMb, double WorkingSetMb) Memory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(false) / 1048576.0, process.WorkingSet64 / 1048576.0);
    }
}
