using System.Diagnostics;

namespace FrSpec.Formats;

/// <summary>
/// Temporary files and folders that writers tag with their process id: one whose process is gone was left by a run that
/// was killed (SIGKILL runs no cleanup), and the next writer of the same output removes it.
/// </summary>
internal static class StaleTemporaries
{
    /// <summary>Whether process <paramref name="pid"/> is this one or still running (a reused PID is kept: safe side).</summary>
    public static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>Deletes a file, ignoring one that is gone or cannot be deleted (it is only a leftover).</summary>
    public static void TryDeleteFile(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
