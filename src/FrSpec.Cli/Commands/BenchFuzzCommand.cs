using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using FrSpec.Cli.Support;
using FrSpec.Fuzzing;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec bench fuzz`: seeded, structure-aware mutations of every parser and loader (docs/safety.md). Per target it
/// reports the cases run, rejected with a clear error, accepted, and every crash, hang or allocation over the bound, each
/// with a reproducer folder. Runs under a GC heap hard limit (it restarts itself with one), so that a giant allocation
/// fails inside the case that asked for it.
/// </summary>
public sealed class BenchFuzzCommand : ICliVerb
{
    public string Parent => "bench";

    private const string LimitVariable = "DOTNET_GCHeapHardLimit";

    public Command Create()
    {
        var target = new Option<string[]>("--target") { Description = $"Targets to fuzz (default: all): {string.Join(", ", FuzzTargets.All().Select(t => t.Name))}", AllowMultipleArgumentsPerToken = true };
        var cases = new Option<int>("--cases") { Description = "Cases per target", DefaultValueFactory = _ => 10_000 };
        var seed = new Option<int>("--seed") { Description = "Seed of the mutations (case i of a target is the same input for the same seed)", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "Folder for reproducers of crashes, hangs and allocations over the bound", DefaultValueFactory = _ => "fuzz-findings" };
        var force = new Option<bool>("--force") { Description = "Write into --out even when it already holds files" };
        var timeout = new Option<double>("--case-timeout") { Description = "Seconds a case may run before it counts as a hang", DefaultValueFactory = _ => 20.0 };
        var heap = new Option<int>("--max-heap-mib") { Description = "GC heap hard limit of the fuzzing process (MiB)", DefaultValueFactory = _ => 4096 };
        var single = new Option<int?>("--case") { Description = "Write case N of each --target (for --seed) to --out as a reproducer folder and run it, instead of a whole run" };
        var cmd = new Command("fuzz", "Fuzz every parser and loader with seeded structure-aware mutations; report crashes, hangs and over-allocations with reproducers")
        {
            target, cases, seed, output, force, timeout, heap, single,
        };
        cmd.SetAction(pr =>
        {
            if (Environment.GetEnvironmentVariable(LimitVariable) is null) return RestartWithHeapLimit(pr.GetValue(heap));
            var targets = (pr.GetValue(target) is { Length: > 0 } names ? names.Select(FuzzTargets.ByName) : FuzzTargets.All()).ToList();
            string outDir = Path.GetFullPath(pr.GetValue(output)!);
            OutputFolder.RefuseNonEmpty(outDir, pr.GetValue(force), "--out");
            string work = Path.Combine(Path.GetTempPath(), $"frspec-fuzz-{Environment.ProcessId}");
            if (pr.GetValue(single) is int caseNumber) return WriteCase(targets, pr.GetValue(seed), caseNumber, outDir, work);
            var options = new FuzzOptions
            {
                Cases = pr.GetValue(cases), Seed = pr.GetValue(seed), CaseTimeout = TimeSpan.FromSeconds(pr.GetValue(timeout)),
                WorkDirectory = work, ReproducerDirectory = outDir,
            };
            var results = new List<FuzzTargetResult>();
            try
            {
                foreach (var t in targets)
                {
                    var sw = Stopwatch.StartNew();
                    var r = new FuzzRunner(options).Run(t, done =>
                    {
                        if (sw.ElapsedMilliseconds < 10_000 && done != options.Cases) return;
                        sw.Restart();
                        Console.Error.WriteLine($"  {t.Name}: {done}/{options.Cases} cases");
                    });
                    results.Add(r);
                    Console.Error.WriteLine(Line(r));
                    foreach (var m in r.SampleRejections) Console.Error.WriteLine($"    rejected: {CliErrors.OneLine(m)}");
                }
            }
            finally { try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { } }
            Console.WriteLine(Table(results, options));
            int findings = results.Sum(r => r.Findings.Count);
            if (findings == 0) return 0;
            throw new FrSpecException($"fuzzing found {results.Sum(r => r.Crashes)} crashes, {results.Sum(r => r.Hangs)} hangs and {results.Sum(r => r.OverAllocations)} allocations over the bound; reproducers in {outDir}");
        });
        return cmd;
    }

    /// <summary>Writes one case per target as a reproducer folder, then runs it and says what happened.</summary>
    private static int WriteCase(IReadOnlyList<FuzzTarget> targets, int seed, int i, string outDir, string work)
    {
        try
        {
            foreach (var t in targets)
            {
                string dir = Path.Combine(work, t.Name);
                var c = FuzzRunner.MakeCase(t, seed, i, dir);
                string folder = FuzzRunner.WriteReproducer(outDir, t.Name, "case", i, c, "written by --case", seed);
                string outcome;
                try { FuzzRunner.Replay(t, folder, dir); outcome = "accepted"; }
                catch (FrSpecException e) { outcome = $"rejected: {e.Message}"; }
                Console.WriteLine($"{t.Name} case {i} ({c.Mutation}) -> {folder}: {outcome}");
            }
            return 0;
        }
        finally { try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { } }
    }

    /// <summary>Runs this same command line again in a child process whose GC heap is capped.</summary>
    private static int RestartWithHeapLimit(int mib)
    {
        var argv = Environment.GetCommandLineArgs();
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        // Under the `dotnet` host, argument 0 is the CLI's dll; under the apphost it is the executable itself.
        bool host = !string.Equals(Path.GetFullPath(argv[0]), Path.GetFullPath(Environment.ProcessPath!), StringComparison.Ordinal);
        foreach (var a in host ? argv : argv.Skip(1)) psi.ArgumentList.Add(a);
        psi.Environment[LimitVariable] = "0x" + ((long)mib << 20).ToString("X", CultureInfo.InvariantCulture);
        using var child = Process.Start(psi) ?? throw new FrSpecException("could not restart with a heap limit");
        child.WaitForExit();
        return child.ExitCode;
    }

    private static string Line(FuzzTargetResult r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Target}: {r.Cases} cases, {r.Rejected} rejected, {r.Accepted} accepted, {r.Crashes} crashes, {r.Hangs} hangs, {r.OverAllocations} over the allocation bound ({r.Elapsed.TotalSeconds:F0} s)");

    /// <summary>The markdown table of a run (docs/safety.md quotes it).</summary>
    internal static string Table(IReadOnlyList<FuzzTargetResult> results, FuzzOptions options)
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"seed {options.Seed}, {options.Cases} cases per target, case timeout {options.CaseTimeout.TotalSeconds:0.#} s");
        sb.AppendLine();
        sb.AppendLine("| target | cases | rejected | accepted | crashes | hangs | over bound | max alloc/case | bound | time |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Target} | {r.Cases:N0} | {r.Rejected:N0} | {r.Accepted:N0} | {r.Crashes} | {r.Hangs} | {r.OverAllocations} | {r.MaxAllocated / 1048576.0:F1} MiB | {r.AllocationBound / 1048576.0:F0} MiB | {r.Elapsed.TotalSeconds:F0} s |");
        foreach (var f in results.SelectMany(r => r.Findings.Select(f => (r.Target, f))).Take(20))
            sb.AppendLine(CultureInfo.InvariantCulture, $"- {f.Target} case {f.f.Case} {f.f.Kind}: {CliErrors.OneLine(f.f.Detail)[..Math.Min(200, CliErrors.OneLine(f.f.Detail).Length)]} ({f.f.Mutation}) -> {f.f.Reproducer}");
        return sb.ToString();
    }
}
