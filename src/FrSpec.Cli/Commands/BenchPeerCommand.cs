using System.CommandLine;
using System.Diagnostics;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec bench peer`: FrSpec against llama.cpp on the same model. llama.cpp (LLamaSharp) is kept out of the engine's
/// and the CLI's dependencies, so this verb builds the separate benchmark project bench/FrSpec.Peer of the source tree
/// this CLI belongs to (once, into artifacts/peer) and runs it as a child process, its output passing straight through.
/// </summary>
public sealed class BenchPeerCommand : ICliVerb
{
    public const string PeerProject = "bench/FrSpec.Peer/FrSpec.Peer.csproj";

    public string Parent => "bench";

    public Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory (llama or qwen2; written as GGUF for llama.cpp), or a .gguf file both engines load", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json for the GGUF (default: the model directory's)" };
        var cache = new Option<string?>("--cache") { Description = "Folder for the GGUF copy (default: $FRSPEC_CACHE/gguf or ~/.cache/frspec/gguf)" };
        var threads = new Option<int>("--threads") { Description = "Threads for both engines", DefaultValueFactory = _ => 2 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved measurement rounds (medians reported)", DefaultValueFactory = _ => 5 };
        var decode = new Option<int>("--decode-tokens") { Description = "Single-token decode steps per round", DefaultValueFactory = _ => 32 };
        var batch = new Option<string>("--batch") { Description = "Batch sizes N, comma-separated (logits for all N)", DefaultValueFactory = _ => "8,16,32" };
        var prompt = new Option<int>("--prompt-tokens") { Description = "Context before decode and batches", DefaultValueFactory = _ => 16 };
        var check = new Option<int>("--check-tokens") { Description = "Positions of the real-text prompt for the logit check", DefaultValueFactory = _ => 64 };
        var json = new Option<bool>("--json") { Description = "Print the results as one JSON object on stdout (the report goes to stderr)" };
        var quiet = new Option<int>("--quiet-wait") { Description = "Seconds to wait for idle CPUs before each round (0 = off)", DefaultValueFactory = _ => 60 };
        var noBench = new Option<bool>("--no-bench") { Description = "Only compare logits" };
        var noCheck = new Option<bool>("--no-check") { Description = "Only measure speed" };
        var verbose = new Option<bool>("--verbose") { Description = "Show llama.cpp's log" };
        var memory = new Option<string>("--memory")
        {
            Description = "Weight memory: default (each engine's default: FrSpec huge pages, llama.cpp mmap), mmap (both mapped), thp (both in huge pages)",
            DefaultValueFactory = _ => "default",
        };
        memory.AcceptOnlyFromAmong("default", "mmap", "thp");
        var cmd = new Command("peer", "Compare FrSpec with llama.cpp (LLamaSharp) on the same model: decode and batch-N tokens/s, max |logit difference|")
        {
            model, tokenizer, cache, threads, rounds, decode, batch, prompt, check, quiet, memory, noBench, noCheck, verbose, json,
        };
        cmd.SetAction(pr =>
        {
            var args = new List<string>
            {
                "--model", Path.GetFullPath(pr.GetValue(model)!),
                "--threads", pr.GetValue(threads).ToString(), "--rounds", pr.GetValue(rounds).ToString(),
                "--decode-tokens", pr.GetValue(decode).ToString(), "--batch", pr.GetValue(batch)!,
                "--prompt-tokens", pr.GetValue(prompt).ToString(), "--check-tokens", pr.GetValue(check).ToString(),
                "--quiet-wait", pr.GetValue(quiet).ToString(),
                "--memory", pr.GetValue(memory)!,
            };
            if (pr.GetValue(tokenizer) is string t) args.AddRange(["--tokenizer", Path.GetFullPath(t)]);
            if (pr.GetValue(cache) is string c) args.AddRange(["--cache", Path.GetFullPath(c)]);
            if (pr.GetValue(noBench)) args.Add("--no-bench");
            if (pr.GetValue(noCheck)) args.Add("--no-check");
            if (pr.GetValue(verbose)) args.Add("--verbose");
            if (pr.GetValue(json)) args.Add("--json");
            string root = FindRepositoryRoot([Environment.CurrentDirectory, AppContext.BaseDirectory])
                ?? throw new FrSpecException($"bench peer needs the FrSpec source tree (a folder with FrSpec.slnx and {PeerProject}); run it from inside the repository");
            string dll = EnsureBuilt(root);
            return Run("dotnet", [dll, .. args]);
        });
        return cmd;
    }

    /// <summary>The nearest folder at or above one of <paramref name="starts"/> holding FrSpec.slnx and the peer project.</summary>
    public static string? FindRepositoryRoot(IEnumerable<string> starts)
    {
        foreach (var start in starts)
        {
            for (var d = new DirectoryInfo(Path.GetFullPath(start)); d != null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "FrSpec.slnx")) && File.Exists(Path.Combine(d.FullName, PeerProject)))
                    return d.FullName;
        }
        return null;
    }

    /// <summary>Builds the peer into artifacts/peer unless that build is newer than every source it depends on.</summary>
    private static string EnsureBuilt(string root)
    {
        string outDir = Path.Combine(root, "artifacts", "peer");
        string dll = Path.Combine(outDir, "FrSpec.Peer.dll");
        string stamp = Path.Combine(outDir, ".stamp");
        DateTime built = File.Exists(dll) && File.Exists(stamp) ? File.GetLastWriteTimeUtc(stamp) : DateTime.MinValue;
        bool stale = new[] { "bench/FrSpec.Peer", "src/FrSpec" }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(root, d), "*", SearchOption.AllDirectories))
            .Where(f => (f.EndsWith(".cs") || f.EndsWith(".csproj")) && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Any(f => File.GetLastWriteTimeUtc(f) > built);
        if (stale)
        {
            Console.Error.WriteLine("frspec: building bench/FrSpec.Peer (Release)...");
            var (rc, log) = Capture("dotnet", ["build", Path.Combine(root, PeerProject), "-c", "Release", "-o", outDir,
                // an OUTDIR variable in the environment would otherwise override -o (MSBuild reads it as OutDir)
                $"-p:OutDir={outDir}{Path.DirectorySeparatorChar}", "-nologo", "-v", "q", "-clp:ErrorsOnly"]);
            if (rc != 0)
            {
                Console.Error.WriteLine(log);
                throw new FrSpecException($"building {PeerProject} failed (exit code {rc}); LLamaSharp 0.30.0 comes from NuGet on the first build");
            }
            File.WriteAllText(stamp, "");
        }
        return dll;
    }

    private static (int rc, string output) Capture(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new FrSpecException($"could not start {file}");
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output + err.Result);
    }

    private static int Run(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new FrSpecException($"could not start {file}");
        p.WaitForExit();
        return p.ExitCode;
    }
}
