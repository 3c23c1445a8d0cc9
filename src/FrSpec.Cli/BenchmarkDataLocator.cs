namespace FrSpec.Cli;

/// <summary>
/// Resolves `--data` values: a built-in set name ("spec-bench", "humaneval", "gsm8k", "alpaca") maps to
/// data/benchmarks/ of the bundled files (<see cref="FindContentRoot"/>); anything else is a path.
/// </summary>
public static class BenchmarkDataLocator
{
    public static readonly IReadOnlyDictionary<string, string> BuiltIn = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["spec-bench"] = "spec_bench.jsonl",
        ["humaneval"] = "human_eval.jsonl",
        ["gsm8k"] = "gsm8k_80.jsonl",
        ["alpaca"] = "alpaca_80.jsonl",
    };

    public static string Resolve(string data)
    {
        if (BuiltIn.TryGetValue(data, out var file))
        {
            var root = FindContentRoot()
                ?? throw new FrSpecException($"--data {data}: cannot find the bundled data (beside {AppContext.BaseDirectory}, or in a repository holding FrSpec.slnx); pass --data PATH to a question file");
            var path = Path.Combine(root, "data", "benchmarks", file);
            if (!File.Exists(path)) throw new FrSpecException($"--data {data}: {path} is missing");
            return path;
        }
        if (File.Exists(data)) return Path.GetFullPath(data);
        throw new FrSpecException($"--data {data}: no such file, and not a built-in set ({string.Join(", ", BuiltIn.Keys)})");
    }

    /// <summary>
    /// Where the bundled files (demo/, data/) are: beside the executable when it is the installed .NET tool (they are
    /// packed with it), else the repository the executable was built in (or the current folder is in); null if neither.
    /// </summary>
    public static string? FindContentRoot()
    {
        string installed = AppContext.BaseDirectory;
        if (Directory.Exists(Path.Combine(installed, "demo")) || Directory.Exists(Path.Combine(installed, "data"))) return installed;
        return FindRepositoryRoot();
    }

    /// <summary>The nearest folder holding FrSpec.slnx above the executable, else above the current folder.</summary>
    public static string? FindRepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "FrSpec.slnx"))) return dir.FullName;
        }
        return null;
    }
}
