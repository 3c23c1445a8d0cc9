using System.Diagnostics;

namespace FrSpec.Tests;

/// <summary>
/// The one temp folder of a test run (/tmp/frspec-tests-PID). Synthesized models are hundreds of megabytes per run, so the
/// folder is deleted when the run ends (<see cref="CleanupTestFramework"/>: the test host is killed too soon after exit for a
/// ProcessExit handler to finish), and folders left by runs that were killed are swept on the next start.
/// </summary>
public static class TestTemp
{
    private const string Prefix = "frspec-tests-";

    /// <summary>This process's folder, created on first use.</summary>
    public static string Root { get; } = Create();

    /// <summary>A new empty folder under <see cref="Root"/>.</summary>
    public static string NewDir(string label = "t")
    {
        string d = Path.Combine(Root, label + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    private static string Create()
    {
        SweepDeadRuns();
        string root = Path.Combine(Path.GetTempPath(), Prefix + Environment.ProcessId);
        Directory.CreateDirectory(root);
                return root;
    }

    /// <summary>Deletes the folders of earlier runs whose process no longer exists (a live PID is never touched).</summary>
    private static void SweepDeadRuns()
    {
        foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), Prefix + "*"))
        {
            var suffix = Path.GetFileName(dir).AsSpan(Prefix.Length);
            bool ended = suffix.StartsWith("ended-");
            if (!int.TryParse(ended ? suffix["ended-".Length..] : suffix, out int pid) || pid == Environment.ProcessId) continue;
            if (ended || !IsAlive(pid)) TryDelete(dir);
        }
    }

    private static bool IsAlive(int pid)
    {
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>
    /// Deletes this run's folder if it was created. The test host is killed moments after the run ends, so the folder is
    /// first renamed (atomic; the sweep finishes it if we are killed) and then removed by a child process that outlives us.
    /// </summary>
    internal static void DeleteRoot()
    {
        string root = Path.Combine(Path.GetTempPath(), Prefix + Environment.ProcessId);
        if (!Directory.Exists(root)) return;
        string doomed = Path.Combine(Path.GetTempPath(), Prefix + "ended-" + Environment.ProcessId);
        try { Directory.Move(root, doomed); }
        catch (IOException) { return; }
        try
        {
            var rm = OperatingSystem.IsWindows()
                ? new ProcessStartInfo("cmd.exe", ["/c", "rmdir", "/s", "/q", doomed])
                : new ProcessStartInfo("rm", ["-rf", doomed]);
            rm.UseShellExecute = false;
            Process.Start(rm)?.Dispose();
        }
        catch (System.ComponentModel.Win32Exception) { TryDelete(doomed); }
    }

    private static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
