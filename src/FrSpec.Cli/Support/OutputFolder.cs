namespace FrSpec.Cli.Support;

/// <summary>
/// The output folder of a verb, handled so that nothing is lost:
/// <list type="bullet">
/// <item>a folder that already holds files is not replaced without --force;</item>
/// <item>the outputs are written into a hidden temporary sibling (same file system) and renamed into place only when
/// complete, so an interrupted run leaves the previous results as they were and no partial output in place (a stale
/// sibling of a dead run is removed by the next run);</item>
/// <item>output file names are plain names inside the folder (no "../x", no absolute path);</item>
/// <item>the folder never contains an input (replacing it would delete that input), and where an input asks for it,
/// is not that input or inside it.</item>
/// </list>
/// </summary>
internal sealed class OutputFolder : IDisposable
{
    private const string TempTag = ".frspec-tmp-", OldTag = ".frspec-old-";
    private bool _committed;

    /// <summary>An input of the verb that the output must stay clear of.</summary>
    /// <param name="Path">The input file or folder.</param>
    /// <param name="Option">The option that named it, for messages ("--model").</param>
    /// <param name="OutputInsideAllowed">False when the output must not be the input folder or lie inside it.</param>
    public sealed record Input(string? Path, string Option, bool OutputInsideAllowed = true);

    /// <summary>Where the outputs go now (the temporary sibling).</summary>
    public string Path { get; }

    /// <summary>Where they end up.</summary>
    public string Final { get; }

    private OutputFolder(string staging, string final) { Path = staging; Final = final; }

    /// <summary>Throws unless <paramref name="dir"/> is absent, empty or <paramref name="force"/> is set.</summary>
    public static void RefuseNonEmpty(string dir, bool force, string option)
    {
        if (System.IO.File.Exists(dir)) throw new FrSpecException($"{option} {dir}: is a file, not a folder");
        if (!force && Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
            throw new FrSpecException($"{option} {dir}: the folder already holds files; choose a new folder, or pass --force to replace it");
    }

    /// <summary>
    /// Starts writing the outputs of folder <paramref name="dir"/> (named by <paramref name="option"/>): checks the
    /// no-overwrite and overlap rules, removes stale temporary siblings of dead runs, and creates the temporary sibling.
    /// </summary>
    public static OutputFolder Begin(string dir, bool force, string option = "--out", params Input[] inputs)
    {
        string final = Check(dir, force, option, replaces: true, inputs);
        string parent = System.IO.Path.GetDirectoryName(final) ?? throw new FrSpecException($"{option} {dir}: cannot write to the root of the file system");
        Directory.CreateDirectory(parent);
        RemoveStaleSiblings(parent, System.IO.Path.GetFileName(final));
        string staging = System.IO.Path.Combine(parent, $".{System.IO.Path.GetFileName(final)}{TempTag}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(staging);
        return new OutputFolder(staging, final);
    }

    /// <summary>
    /// The checks of <see cref="Begin"/> for a verb that writes file by file in place (training, which resumes from its own
    /// folder and replaces nothing else in it): not into a folder holding files unless <paramref name="existingAllowed"/>,
    /// and not into an input that must stay separate.
    /// </summary>
    public static void CheckInPlace(string dir, bool existingAllowed, string option, params Input[] inputs) =>
        Check(dir, existingAllowed, option, replaces: false, inputs);

    private static string Check(string dir, bool existingAllowed, string option, bool replaces, Input[] inputs)
    {
        string final = PathSafety.Real(dir);
        RefuseNonEmpty(final, existingAllowed, option);
        foreach (var input in inputs)
        {
            if (string.IsNullOrEmpty(input.Path)) continue;
            string real = PathSafety.Real(input.Path);
            if (replaces && PathSafety.IsWithin(real, final))
                throw new FrSpecException($"{option} {dir} contains {input.Option} {input.Path}: writing the output there would replace the input");
            if (!input.OutputInsideAllowed && PathSafety.IsWithin(final, real))
                throw new FrSpecException($"{option} {dir} is {(PathSafety.Same(final, real) ? "the same folder as" : "inside")} {input.Option} {input.Path}: write the output to a folder of its own");
        }
        return final;
    }

    /// <summary>The path of output file <paramref name="name"/>, which must be a plain file name (<paramref name="option"/> names it in errors).</summary>
    public string File(string name, string option = "--out")
    {
        if (!Formats.TensorStore.IsPlainFileName(name) || System.IO.Path.IsPathRooted(name))
            throw new FrSpecException($"{option} '{name}': must be a plain file name inside the output folder (no folders, no '..', not absolute)");
        return System.IO.Path.Combine(Path, name);
    }

    /// <summary>
    /// Puts the complete outputs in place: a rename when the folder is new; otherwise the old folder is renamed aside,
    /// the new one renamed in, and the old one deleted (interrupted in between, the old results survive in a sibling).
    /// </summary>
    public void Commit()
    {
        if (_committed) return;
        if (!Directory.Exists(Final)) Directory.Move(Path, Final);
        else
        {
            string old = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Final)!,
                $".{System.IO.Path.GetFileName(Final)}{OldTag}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
            Directory.Move(Final, old);
            Directory.Move(Path, Final);
            Directory.Delete(old, recursive: true);
        }
        _committed = true;
    }

    /// <summary>Removes the temporary sibling unless the outputs were committed.</summary>
    public void Dispose()
    {
        if (_committed) return;
        try { if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Temporary siblings of <paramref name="name"/> left by runs whose process is gone.</summary>
    private static void RemoveStaleSiblings(string parent, string name)
    {
        foreach (var dir in Directory.EnumerateDirectories(parent, $".{name}.frspec-*"))
        {
            string rest = System.IO.Path.GetFileName(dir)[(name.Length + 1)..];
            string tag = rest.StartsWith(TempTag, StringComparison.Ordinal) ? TempTag : rest.StartsWith(OldTag, StringComparison.Ordinal) ? OldTag : "";
            if (tag.Length == 0 || !int.TryParse(rest[tag.Length..].Split('-')[0], out int pid) || IsRunning(pid)) continue;
            if (tag == OldTag) continue;   // an interrupted commit: these are the previous results, kept for the user
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    private static bool IsRunning(int pid) => Formats.StaleTemporaries.IsRunning(pid);
}
