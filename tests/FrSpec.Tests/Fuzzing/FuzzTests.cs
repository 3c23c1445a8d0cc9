using System.Diagnostics;
using FrSpec.Cli.Commands;
using FrSpec.Fuzzing;
using Xunit.Abstractions;

namespace FrSpec.Tests.Fuzzing;

/// <summary>
/// The fuzzing harness in CI: a few hundred seeded cases of every target (bench fuzz runs 10,000; docs/safety.md), the
/// reproducers of what fuzzing found replayed, and the harness itself shown able to fail (crash, hang, over-allocation).
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    private const int Cases = 200;
    private const int Seed = 20250601;

    public static TheoryData<string> Targets => new(BenchFuzzCommand.Targets().Select(t => t.Name));

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_case_is_accepted_or_rejected_cleanly(string name)
    {
        string work = TestModels.NewTempDir();
        var all = BenchFuzzCommand.Targets();
        FuzzTargetResult r;
        try
        {
            r = new FuzzRunner(new FuzzOptions
            {
                Cases = Cases, Seed = Seed, WorkDirectory = work, ReproducerDirectory = Path.Combine(work, "findings"), CaseTimeout = TimeSpan.FromSeconds(30),
            }).Run(all.Single(t => t.Name == name));
        }
        finally { BenchFuzzCommand.Dispose(all); }
        output.WriteLine($"{name}: {r.Cases} cases, {r.Rejected} rejected, {r.Accepted} accepted, max {r.MaxAllocated >> 10} KiB per case (bound {r.AllocationBound >> 20} MiB), {r.Elapsed.TotalSeconds:F1} s");
        foreach (var m in r.SampleRejections) output.WriteLine("  " + m);
        Assert.True(r.Findings.Count == 0, string.Join("\n", r.Findings.Select(f => $"case {f.Case} {f.Kind}: {f.Detail} ({f.Mutation}) -> {f.Reproducer}")));
        Assert.Equal(Cases, r.Cases);
        // The mutations must reach both outcomes: all-rejected would mean they never get past the first check.
        Assert.True(r.Rejected >= Cases / 10 && r.Accepted >= 3, $"{r.Rejected} rejected, {r.Accepted} accepted");
    }

    /// <summary>tests/FrSpec.Tests/Fixtures/fuzz/TARGET/NAME: inputs that once crashed, hung or over-allocated.</summary>
    public static TheoryData<string, string> Reproducers()
    {
        var data = new TheoryData<string, string>();
        foreach (var target in Directory.EnumerateDirectories(FixtureRoot()))
            foreach (var folder in Directory.EnumerateDirectories(target))
                data.Add(Path.GetFileName(target), Path.GetFileName(folder));
        return data;
    }

    [Theory]
    [MemberData(nameof(Reproducers))]
    public async Task Found_crashes_stay_fixed(string target, string name)
    {
        var all = BenchFuzzCommand.Targets();
        var t = all.Single(t => t.Name == target);
        string folder = Path.Combine(FixtureRoot(), target, name);
        var replay = Task.Run(() =>
        {
            try { FuzzRunner.Replay(t, folder, TestModels.NewTempDir()); return "accepted"; }
            catch (FrSpecException e) { return "rejected: " + e.Message; }
            finally { BenchFuzzCommand.Dispose(all); }
        });
        Assert.True(await Task.WhenAny(replay, Task.Delay(TimeSpan.FromSeconds(30))) == replay, $"{target}/{name} hangs again");
        output.WriteLine($"{target}/{name}: {await replay}");
    }

    private static string FixtureRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "tests", "FrSpec.Tests", "Fixtures", "fuzz");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("tests/FrSpec.Tests/Fixtures/fuzz not found");
    }

    [Fact]
    public void A_case_is_the_same_input_on_every_run()
    {
        var t = FuzzTargets.ByName("config");
        var a = FuzzRunner.MakeCase(t, 7, 123, TestModels.NewTempDir());
        var b = FuzzRunner.MakeCase(t, 7, 123, TestModels.NewTempDir());
        Assert.Equal(a.Mutation, b.Mutation);
        Assert.Equal(a.Files.Single().Value, b.Files.Single().Value);
        Assert.NotEqual(a.Mutation + Convert.ToHexString(a.Files.Single().Value!), FuzzRunner.MakeCase(t, 7, 124, TestModels.NewTempDir()) is var c
            ? c.Mutation + Convert.ToHexString(c.Files.Single().Value!) : "");
    }

    /// <summary>A target whose exercise misbehaves on chosen cases: the harness must report each, with a reproducer.</summary>
    private sealed class Misbehaving(Action<int> onCase) : FuzzTarget
    {
        private int _case = -2;   // the runner exercises the seed first (-1), then cases 0, 1, ...
        public override string Name => "misbehaving";
        public override string Description => "test target";
        public override void WriteSeed(string dir) => File.WriteAllText(Path.Combine(dir, "input.txt"), "seed");
        public override FuzzCase Mutate(IReadOnlyDictionary<string, byte[]> seed, Random rng) =>
            new(new Dictionary<string, byte[]?> { ["input.txt"] = [(byte)rng.Next(256)] }, "one random byte");
        public override void Exercise(string dir)
        {
            int i = Interlocked.Increment(ref _case);   // a hung case's thread keeps running: count before acting
            if (i < 0) return;
            onCase(i);
            if (i % 2 == 0) throw new FrSpecException("rejected");
        }
        public override long AllocationBound(long inputBytes) => 8 << 20;
    }

    [Fact]
    public void The_harness_reports_crashes_hangs_and_overallocation_with_reproducers()
    {
        string work = TestModels.NewTempDir(), findings = Path.Combine(work, "findings");
        var target = new Misbehaving(i =>
        {
            if (i == 3) throw new InvalidOperationException("boom");
            if (i == 5) { var spin = Stopwatch.StartNew(); while (spin.Elapsed < TimeSpan.FromSeconds(4)) Thread.SpinWait(1000); }   // busy
            if (i == 7) Thread.Sleep(TimeSpan.FromSeconds(4));   // blocked: caught by the wall-time limit
            if (i == 8) GC.KeepAlive(new byte[32 << 20]);
        });
        var r = new FuzzRunner(new FuzzOptions
        {
            Cases = 12, Seed = 1, WorkDirectory = work, ReproducerDirectory = findings, CaseTimeout = TimeSpan.FromSeconds(1), HangWallFactor = 2.5,
        }).Run(target);
        Assert.Equal(FuzzFindingKind.Crash, Assert.Single(r.Findings, f => f.Case == 3).Kind);
        Assert.Equal(FuzzFindingKind.Hang, Assert.Single(r.Findings, f => f.Case == 5).Kind);
        Assert.Equal(FuzzFindingKind.Hang, Assert.Single(r.Findings, f => f.Case == 7).Kind);
        Assert.Equal(FuzzFindingKind.Allocation, Assert.Single(r.Findings, f => f.Case == 8).Kind);
        Assert.Equal(4, r.Findings.Count);
        Assert.Equal(12, r.Cases);   // the run went on after the hang, with a fresh worker
        foreach (var f in r.Findings)
        {
            Assert.True(File.Exists(Path.Combine(f.Reproducer!, "input.txt")), f.Reproducer);
            Assert.Contains("\"target\": \"misbehaving\"", File.ReadAllText(Path.Combine(f.Reproducer!, FuzzRunner.CaseFile)));
        }
        Assert.Contains("boom", r.Findings.Single(f => f.Kind == FuzzFindingKind.Crash).Detail);
    }
}
