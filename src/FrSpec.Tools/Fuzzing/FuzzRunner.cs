using System.Diagnostics;
using System.Text.Json.Nodes;

namespace FrSpec.Fuzzing;

/// <summary>Settings of a fuzzing run.</summary>
public sealed record FuzzOptions
{
    /// <summary>Cases per target.</summary>
    public int Cases { get; init; } = 10_000;

    /// <summary>Seed of the run: case i of a target is the same mutation for the same seed on every machine.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Longest a case may run before it counts as a hang.</summary>
    public TimeSpan CaseTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Hangs after which a target is stopped (each leaves a thread behind that cannot be aborted).</summary>
    public int MaxHangs { get; init; } = 3;

    /// <summary>Scratch folder for seeds and cases (deleted afterwards by the caller).</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>Where a crash, hang or allocation over the bound leaves its reproducer folder; null = nowhere.</summary>
    public string? ReproducerDirectory { get; init; }
}

/// <summary>What went wrong in one case.</summary>
public enum FuzzFindingKind { Crash, Hang, Allocation }

/// <summary>A case that crashed, hung or allocated beyond the bound, with the folder that reproduces it.</summary>
public sealed record FuzzFinding(FuzzFindingKind Kind, int Case, string Mutation, string Detail, string? Reproducer);

/// <summary>The outcome of a target's cases.</summary>
public sealed record FuzzTargetResult(string Target, int Cases, int Rejected, int Accepted, IReadOnlyList<FuzzFinding> Findings,
    long MaxAllocated, long AllocationBound, TimeSpan Elapsed)
{
    /// <summary>A few distinct rejection messages, to judge whether the errors are clear.</summary>
    public IReadOnlyList<string> SampleRejections { get; init; } = [];

    public int Crashes => Findings.Count(f => f.Kind == FuzzFindingKind.Crash);
    public int Hangs => Findings.Count(f => f.Kind == FuzzFindingKind.Hang);
    public int OverAllocations => Findings.Count(f => f.Kind == FuzzFindingKind.Allocation);
}

/// <summary>
/// Runs a target's cases in this process, on a worker thread watched by the calling thread:
/// <list type="bullet">
/// <item>time: a case running longer than <see cref="FuzzOptions.CaseTimeout"/> is a hang; its thread is abandoned
/// (.NET cannot abort threads) and a fresh worker continues with the next case in a fresh folder;</item>
/// <item>memory: the bytes the worker thread allocates per case (<see cref="GC.GetAllocatedBytesForCurrentThread"/>) are
/// checked against the target's bound; the CLI also runs under a GC heap hard limit, so a giant allocation fails
/// with OutOfMemoryException (a crash with a reproducer) instead of taking the machine down.</item>
/// </list>
/// In-process rather than one child process per case: a case takes about a millisecond, a process start about a hundred,
/// so 10,000 cases per target stay minutes instead of hours, and per-thread allocation counts are exact. A case's
/// files are on disk in the work folder while it runs, so even a native crash of the whole process leaves the input.
/// </summary>
public sealed class FuzzRunner(FuzzOptions options)
{
    private sealed class Shared
    {
        public int Rejected, Accepted, Current = -1, Generation;
        public long MaxAllocated, StartTicks;
        public FuzzCase? CurrentCase;
        public readonly List<FuzzFinding> Findings = new();
        public readonly List<string> Samples = new();
        public Exception? HarnessError;
    }

    /// <summary>Runs <paramref name="target"/>; <paramref name="onCase"/> hears the number of cases done.</summary>
    public FuzzTargetResult Run(FuzzTarget target, Action<int>? onCase = null)
    {
        var sw = Stopwatch.StartNew();
        string root = Path.Combine(options.WorkDirectory, target.Name);
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        string seedDir = Path.Combine(root, "seed");
        Directory.CreateDirectory(seedDir);
        target.WriteSeed(seedDir);
        var seed = ReadFolder(seedDir);
        long bound = target.AllocationBound(seed.Values.Sum(b => (long)b.Length));
        string first = CaseFolder(root, 0, seed);
        try { target.Exercise(first); }
        catch (Exception e) { throw new InvalidOperationException($"fuzz target {target.Name}: its own seed fails ({e.GetType().Name}: {e.Message})", e); }

        var s = new Shared();
        int next = 0, folders = 0;
        Thread StartWorker(int from, string dir)
        {
            int generation = s.Generation;
            var t = new Thread(() => Work(target, seed, dir, from, generation, bound, s, onCase)) { IsBackground = true, Name = $"frspec-fuzz-{target.Name}" };
            t.Start();
            return t;
        }
        var worker = StartWorker(next, first);
        while (!worker.Join(100))
        {
            long start = Volatile.Read(ref s.StartTicks);
            if (start == 0 || Stopwatch.GetElapsedTime(start) < options.CaseTimeout) continue;
            int hung;
            FuzzCase? c;
            lock (s) { hung = s.Current; c = s.CurrentCase; s.Generation++; s.StartTicks = 0; }
            Record(s, target, FuzzFindingKind.Hang, hung, c, $"still running after {options.CaseTimeout.TotalSeconds:0.#} s");
            if (s.Findings.Count(f => f.Kind == FuzzFindingKind.Hang) >= options.MaxHangs || hung + 1 >= options.Cases) break;
            worker = StartWorker(hung + 1, CaseFolder(root, ++folders, seed));   // the abandoned thread keeps its folder
        }
        if (s.HarnessError is not null) throw new InvalidOperationException($"fuzz target {target.Name}: the harness failed", s.HarnessError);
        lock (s)
        {
            int done = s.Rejected + s.Accepted + s.Findings.Count(f => f.Kind is FuzzFindingKind.Crash or FuzzFindingKind.Hang);
            return new FuzzTargetResult(target.Name, done, s.Rejected, s.Accepted, s.Findings.ToList(), s.MaxAllocated, bound, sw.Elapsed)
            {
                SampleRejections = s.Samples.ToList(),
            };
        }
    }

    private void Work(FuzzTarget target, IReadOnlyDictionary<string, byte[]> seed, string dir, int from, int generation, long bound, Shared s, Action<int>? onCase)
    {
        try
        {
            for (int i = from; i < options.Cases; i++)
            {
                var rng = new Random(CaseSeed(options.Seed, target.Name, i));
                var c = target.Mutate(seed, rng);
                lock (s)
                {
                    if (s.Generation != generation) return;   // abandoned after a hang
                    s.Current = i;
                    s.CurrentCase = c;
                }
                Apply(dir, c);
                Volatile.Write(ref s.StartTicks, Stopwatch.GetTimestamp());
                long before = GC.GetAllocatedBytesForCurrentThread();
                Exception? crash = null;
                bool accepted = false;
                string? rejection = null;
                try { target.Exercise(dir); accepted = true; }
                catch (FrSpecException e) { rejection = e.Message; }
                catch (Exception e) { crash = e; }
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                lock (s)
                {
                    if (s.Generation != generation) return;
                    s.StartTicks = 0;
                    s.MaxAllocated = Math.Max(s.MaxAllocated, allocated);
                    if (crash is not null) Record(s, target, FuzzFindingKind.Crash, i, c, $"{crash.GetType().Name}: {crash.Message}\n{crash.StackTrace}");
                    else if (accepted) s.Accepted++;
                    else
                    {
                        s.Rejected++;
                        if (s.Samples.Count < 12 && rejection is not null && (rng.Next(8) == 0 || s.Samples.Count < 3)) s.Samples.Add(rejection);
                    }
                    if (allocated > bound) Record(s, target, FuzzFindingKind.Allocation, i, c, $"allocated {allocated:N0} bytes, bound {bound:N0}");
                }
                Restore(dir, c, seed);
                onCase?.Invoke(i + 1);
            }
        }
        catch (Exception e) { s.HarnessError = e; }
    }

    /// <summary>A folder holding the seed files, for the cases of one worker.</summary>
    private static string CaseFolder(string root, int k, IReadOnlyDictionary<string, byte[]> seed)
    {
        string dir = Path.Combine(root, $"case{k}");
        Directory.CreateDirectory(dir);
        foreach (var (name, bytes) in seed) Write(dir, name, bytes);
        return dir;
    }

    /// <summary>The files of a folder by name.</summary>
    private static IReadOnlyDictionary<string, byte[]> ReadFolder(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f).Replace('\\', '/'), File.ReadAllBytes);

    /// <summary>Writes <paramref name="bytes"/> at the relative path <paramref name="name"/> under <paramref name="dir"/>.</summary>
    private static void Write(string dir, string name, byte[] bytes)
    {
        string path = Path.Combine(dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>Writes a case's files over the seed copy in <paramref name="dir"/>.</summary>
    private static void Apply(string dir, FuzzCase c)
    {
        foreach (var (name, bytes) in c.Files)
        {
            if (bytes is null) File.Delete(Path.Combine(dir, name));
            else Write(dir, name, bytes);
        }
    }

    private static void Restore(string dir, FuzzCase c, IReadOnlyDictionary<string, byte[]> seed)
    {
        foreach (var name in c.Files.Keys)
        {
            if (seed.TryGetValue(name, out var original)) Write(dir, name, original);
            else File.Delete(Path.Combine(dir, name));
        }
    }

    /// <summary>The random seed of case <paramref name="i"/>: independent of the others, so one case can be replayed alone.</summary>
    public static int CaseSeed(int seed, string target, int i)
    {
        uint h = 2166136261;
        foreach (char ch in target) h = (h ^ ch) * 16777619;
        return (int)(h ^ (uint)seed * 0x9E3779B1u ^ (uint)i * 0x85EBCA77u);
    }

    private void Record(Shared s, FuzzTarget target, FuzzFindingKind kind, int i, FuzzCase? c, string detail)
    {
        string? folder = c is null || options.ReproducerDirectory is null ? null
            : WriteReproducer(options.ReproducerDirectory, target.Name, kind.ToString().ToLowerInvariant(), i, c, detail, options.Seed);
        lock (s) s.Findings.Add(new FuzzFinding(kind, i, c?.Mutation ?? "?", detail, folder));
    }

    /// <summary>
    /// Writes a case's mutated files and case.json (target, seed, case, kind, mutation, detail, deleted files) into
    /// <paramref name="root"/>/TARGET/KIND-caseN; <see cref="Replay"/> runs such a folder again.
    /// </summary>
    public static string WriteReproducer(string root, string target, string kind, int i, FuzzCase c, string detail, int seed)
    {
        string dir = Path.Combine(root, target, $"{kind}-case{i}");
        Directory.CreateDirectory(dir);
        var deleted = new JsonArray();
        foreach (var (name, bytes) in c.Files)
        {
            if (bytes is null) deleted.Add(name);
            else Write(dir, name, bytes);
        }
        var info = new JsonObject
        {
            ["target"] = target, ["seed"] = seed, ["case"] = i, ["kind"] = kind,
            ["mutation"] = c.Mutation, ["detail"] = detail, ["deleted"] = deleted,
        };
        File.WriteAllText(Path.Combine(dir, CaseFile), info.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
        return dir;
    }

    /// <summary>
    /// Case <paramref name="i"/> of <paramref name="target"/> for run seed <paramref name="seed"/>, built on the seed files in
    /// <paramref name="workDir"/> (written there first when missing): the same input the run gave that case.
    /// </summary>
    public static FuzzCase MakeCase(FuzzTarget target, int seed, int i, string workDir)
    {
        string seedDir = Path.Combine(workDir, "seed");
        if (!Directory.Exists(seedDir)) { Directory.CreateDirectory(seedDir); target.WriteSeed(seedDir); }
        return target.Mutate(ReadFolder(seedDir), new Random(CaseSeed(seed, target.Name, i)));
    }

    /// <summary>The description file of a reproducer folder.</summary>
    public const string CaseFile = "case.json";

    /// <summary>
    /// Rebuilds the case of a reproducer folder on <paramref name="target"/>'s seed in <paramref name="workDir"/> and
    /// exercises it: returns normally when accepted, throws what the exercise throws otherwise.
    /// </summary>
    public static void Replay(FuzzTarget target, string reproducer, string workDir)
    {
        string seedDir = Path.Combine(workDir, "seed");
        if (!Directory.Exists(seedDir)) { Directory.CreateDirectory(seedDir); target.WriteSeed(seedDir); }
        var seed = ReadFolder(seedDir);
        var info = JsonNode.Parse(File.ReadAllText(Path.Combine(reproducer, CaseFile)))!;
        var files = new Dictionary<string, byte[]?>();
        foreach (var (name, bytes) in ReadFolder(reproducer))
            if (name != CaseFile) files[name] = bytes;
        foreach (var d in info["deleted"]?.AsArray() ?? []) files[d!.GetValue<string>()] = null;
        string dir = Path.Combine(workDir, "replay-" + Path.GetFileName(Path.TrimEndingDirectorySeparator(reproducer)));
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        foreach (var (name, bytes) in seed) Write(dir, name, bytes);
        Apply(dir, new FuzzCase(files, info["mutation"]?.GetValue<string>() ?? ""));
        target.Exercise(dir);
    }
}
