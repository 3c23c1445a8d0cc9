namespace FrSpec.Cli.Support;

/// <summary>Comparisons of paths as the file system sees them: absolute, with symbolic links resolved.</summary>
internal static class PathSafety
{
    private static readonly StringComparison Comparison =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>The absolute path with every existing component's symbolic link followed (like realpath; missing tails kept).</summary>
    public static string Real(string path)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        string root = Path.GetPathRoot(full) ?? "";
        string current = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            string next = Path.Combine(current, part);
            for (int hops = 0; hops < 40; hops++)
            {
                FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
                if (!info.Exists || info.LinkTarget is null) break;
                next = Path.TrimEndingDirectorySeparator(Path.GetFullPath(info.LinkTarget, Path.GetDirectoryName(next) ?? root));
            }
            current = next;
        }
        return current;
    }

    /// <summary>True when both real paths name the same place.</summary>
    public static bool Same(string a, string b) => string.Equals(a, b, Comparison);

    /// <summary>True when real path <paramref name="inner"/> is <paramref name="outer"/> or lies inside it.</summary>
    public static bool IsWithin(string inner, string outer) =>
        Same(inner, outer) || inner.StartsWith(Path.TrimEndingDirectorySeparator(outer) + Path.DirectorySeparatorChar, Comparison);
}
