using System.Diagnostics;
using System.Text;

namespace FrSpec.Cli;

/// <summary>
/// The JS reference tokenizer (@lenml/tokenizers, the tokenizers of transformers.js) run under node, for
/// `bench tokenizer`. It is looked up in the same cache as the tests use ($FRSPEC_CACHE or ~/.cache/frspec) and
/// installed there with npm when missing.
/// </summary>
internal static class NodeReference
{
    public const string Version = "3.7.2";

    /// <summary>node_modules holding @lenml/tokenizers, or null with a reason.</summary>
    public static string? Locate(string? explicitModules, out string reason)
    {
        reason = "";
        if (FindOnPath("node") is null) { reason = "node is not on PATH"; return null; }
        if (explicitModules is not null)
        {
            if (File.Exists(Path.Combine(explicitModules, "@lenml", "tokenizers", "package.json"))) return explicitModules;
            reason = $"{explicitModules} has no @lenml/tokenizers";
            return null;
        }
        var cache = Support.CliCache.Root;
        var dir = Path.Combine(cache, "node", $"lenml-tokenizers-{Version}");
        var modules = Path.Combine(dir, "node_modules");
        if (File.Exists(Path.Combine(modules, "@lenml", "tokenizers", "package.json"))) return modules;
        var npm = FindOnPath("npm");
        if (npm is null) { reason = "npm is not on PATH to install @lenml/tokenizers"; return null; }
        var staged = Path.Combine(cache, "tmp", $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staged);
        var (code, _, err) = Run(npm, $"install --prefix \"{staged}\" --no-audit --no-fund --no-save --silent @lenml/tokenizers@{Version}", null, TimeSpan.FromMinutes(5));
        if (code != 0) { reason = $"npm install @lenml/tokenizers@{Version} failed: {err.Trim()}"; return null; }
        Directory.CreateDirectory(Path.GetDirectoryName(dir)!);
        try { Directory.Move(staged, dir); } catch (IOException) when (Directory.Exists(dir)) { }
        return modules;
    }

    /// <summary>Writes the embedded reference.js to a temporary file and returns its path.</summary>
    public static string ExtractScript(string folder)
    {
        using var s = typeof(NodeReference).Assembly.GetManifestResourceStream("FrSpec.Cli.reference.js")
            ?? throw new InvalidOperationException("embedded reference.js is missing");
        var path = Path.Combine(folder, "reference.js");
        using var f = File.Create(path);
        s.CopyTo(f);
        return path;
    }

    public static string? FindOnPath(string exe)
    {
        foreach (var p in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
            if (p.Length > 0 && File.Exists(Path.Combine(p, exe))) return Path.Combine(p, exe);
        return null;
    }

    public static (int Code, string Out, string Err) Run(string exe, string args, string? nodePath, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(exe, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (nodePath is not null) psi.Environment["NODE_PATH"] = nodePath;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {exe}");
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { try { p.Kill(true); } catch { } return (-1, "", $"{exe} timed out"); }
        return (p.ExitCode, o.Result, e.Result);
    }

    /// <summary>A JSON string literal that escapes everything outside printable ASCII (keeps lone surrogates intact).</summary>
    public static void JsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            if (c is >= ' ' and <= '~' && c != '"' && c != '\\') sb.Append(c);
            else sb.Append("\\u").Append(((int)c).ToString("x4"));
        }
        sb.Append('"');
    }
}
