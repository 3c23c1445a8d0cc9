using System.Diagnostics;

namespace FrSpec.Tests;

/// <summary>Runs the built CLI (FrSpec.Cli next to the tests) as a separate process: its own console, exit code and output.</summary>
internal static class CliProcess
{
    public static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        string exe = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "FrSpec.Cli.exe" : "FrSpec.Cli");
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }
}
