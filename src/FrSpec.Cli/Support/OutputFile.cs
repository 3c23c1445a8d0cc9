namespace FrSpec.Cli.Support;

/// <summary>
/// A single output file (a verb's --json report), held to the rules of <see cref="OutputFolder"/>: an existing file is
/// not replaced without --force, an input is never replaced, and the content is written to a temporary sibling
/// and renamed over the target only when complete, so an interrupted run leaves the previous file as it was.
/// </summary>
internal static class OutputFile
{
    /// <summary>
    /// Throws unless <paramref name="path"/> (named by <paramref name="option"/>) may be written: not a folder, absent
    /// unless <paramref name="force"/>, and not inside any of <paramref name="inputs"/>. Call before the work that
    /// produces the content, so a refused path costs nothing.
    /// </summary>
    public static void Check(string path, bool force, string option, params OutputFolder.Input[] inputs)
    {
        string real = PathSafety.Real(path);
        if (Directory.Exists(real)) throw new FrSpecException($"{option} {path}: is a folder, not a file");
        if (!force && File.Exists(real)) throw new FrSpecException($"{option} {path}: the file already exists; choose a new name, or pass --force to replace it");
        foreach (var input in inputs)
            if (!string.IsNullOrEmpty(input.Path) && PathSafety.IsWithin(real, PathSafety.Real(input.Path)))
                throw new FrSpecException($"{option} {path} is {input.Option} {input.Path} or lies inside it: write the output elsewhere");
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> through a temporary sibling and one rename (<see cref="Formats.AtomicFile"/>).</summary>
    public static void WriteAllText(string path, string content)
    {
        string real = PathSafety.Real(path);
        string dir = Path.GetDirectoryName(real) ?? throw new FrSpecException($"{path}: cannot write to the root of the file system");
        Directory.CreateDirectory(dir);
        Formats.AtomicFile.WriteAllText(real, content);
    }
}
