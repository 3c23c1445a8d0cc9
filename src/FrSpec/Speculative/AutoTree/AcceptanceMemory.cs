using System.Diagnostics;
using FrSpec.Formats;

namespace FrSpec.Speculative.AutoTree;

/// <summary>
/// The acceptance one model and drafter (with its draft vocabularies) showed so far, for the next session to start
/// from instead of the generic prior: each session of the automatic tree recalls it when it starts and leaves its own
/// statistics here after every generation (the latest session's counts win). With a folder the memory also outlives
/// the process: it is read once, on first use, and written when the model is disposed (or, in a long-lived process,
/// at most once a minute after a generation), one file per key, the folder pruned to <see cref="MaxFiles"/> files.
/// A file that cannot be read or does not fit is ignored with a one-line notice on stderr; a folder that cannot be
/// written only costs the warm start. Thread-safe.
/// </summary>
internal sealed class AcceptanceMemory
{
    /// <summary>How many acceptance files the folder keeps (each a few kilobytes).</summary>
    public const int MaxFiles = 64;

    private static readonly long s_writeInterval = Stopwatch.Frequency * 60;

    private readonly object _gate = new();
    private readonly string? _file;
    private bool _loaded, _dirty;
    private long _lastWrite = Stopwatch.GetTimestamp();
    private AcceptanceSnapshot? _latest;

    /// <param name="key">What the statistics belong to (<see cref="Key"/>).</param>
    /// <param name="directory">Folder kept between runs; null: in memory only.</param>
    /// <param name="variants">Draft vocabularies of the statistics (a stored file must match them, as its depths and ranks).</param>
    /// <param name="depths">Depth levels of the statistics.</param>
    /// <param name="ranks">Ranks per depth of the statistics.</param>
    public AcceptanceMemory(string key, string? directory, int variants, int depths, int ranks)
    {
        Key = key; Variants = variants; Depths = depths; Ranks = ranks;
        _file = directory == null ? null : Path.Combine(directory, "acceptance-" + CostProfileStore.FileName(key));
    }

    public string Key { get; }
    public int Variants { get; }
    public int Depths { get; }
    public int Ranks { get; }

    /// <summary>The key of a drafter's acceptance: the target's and the drafter's files (as the cost cache names them), each draft vocabulary, and the statistics' dimensions.</summary>
    public static string KeyOf(string targetPath, string draftPath, IReadOnlyList<string> variants, int depths, int ranks) =>
        $"acceptance\ntarget: {CostProfileStore.Files(targetPath)}\ndrafter: {CostProfileStore.Files(draftPath)}\n" +
        $"variants: {string.Join(',', variants)}\ndepths: {depths}\nranks: {ranks}\n";

    /// <summary>The latest statistics left here (or read from the folder on first use); null when there are none.</summary>
    public AcceptanceSnapshot? Recall()
    {
        lock (_gate)
        {
            if (!_loaded) { _loaded = true; _latest ??= Load(); }
            return _latest;
        }
    }

    /// <summary>Keeps a session's statistics for the sessions that start later (and the next run).</summary>
    public void Remember(AcceptanceSnapshot snapshot)
    {
        if (snapshot.Key != Key || snapshot.Variants != Variants || snapshot.Depths != Depths || snapshot.Ranks != Ranks)
            throw new ArgumentException("the snapshot belongs to other statistics");
        lock (_gate)
        {
            _loaded = true;
            _latest = snapshot;
            _dirty = true;
            if (Stopwatch.GetTimestamp() - _lastWrite >= s_writeInterval) WriteLocked();
        }
    }

    /// <summary>Writes what changed since the last write (the model calls it when it is disposed).</summary>
    public void Flush()
    {
        lock (_gate) WriteLocked();
    }

    private void WriteLocked()
    {
        _lastWrite = Stopwatch.GetTimestamp();
        if (!_dirty || _file == null || _latest == null) return;
        _dirty = false;
        try
        {
            string directory = Path.GetDirectoryName(_file)!;
            Directory.CreateDirectory(directory);
            AtomicFile.WriteAllText(_file, _latest.ToJson());
            CostProfileStore.Prune(directory, MaxFiles, "acceptance-*.json");
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private AcceptanceSnapshot? Load()
    {
        if (_file == null) return null;
        try
        {
            var info = new FileInfo(_file);
            if (!info.Exists) return null;
            if (info.Length > AcceptanceSnapshot.MaxFileBytes) return Ignore($"{info.Length} bytes, more than a snapshot can hold");
            var snapshot = AcceptanceSnapshot.Parse(File.ReadAllText(_file), Key, Variants, Depths, Ranks, out string? problem);
            return snapshot ?? Ignore(problem!);
        }
        catch (IOException e) { return Ignore(e.Message); }
        catch (UnauthorizedAccessException e) { return Ignore(e.Message); }
    }

    private AcceptanceSnapshot? Ignore(string problem)
    {
        // the statistics only speed the start up: a bad file costs the warm start, never the generation
        Console.Error.WriteLine($"frspec: ignoring stored acceptance statistics {_file}: {problem}");
        return null;
    }
}
