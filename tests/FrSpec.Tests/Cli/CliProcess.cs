using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace FrSpec.Tests.Cli;

/// <summary>The built `frspec` CLI run as a child process: stdin to write, stdout and stderr collected as they come, signals.</summary>
public sealed partial class CliProcess : IDisposable
{
    public const int SigInt = 2, SigTerm = 15;

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly BlockingCollection<string> _stderrLines = new();
    private readonly StringBuilder _stderr = new();

    public CliProcess(params string[] args) : this(null, args) { }

    /// <summary>The CLI with extra <paramref name="environment"/> variables (e.g. FRSPEC_CACHE).</summary>
    public CliProcess(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        string exe = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "FrSpec.Cli.exe" : "FrSpec.Cli");
        var psi = new ProcessStartInfo(exe) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_stdout) _stdout.Append(e.Data).Append('\n'); };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data == null) return;
            lock (_stderr) _stderr.Append(e.Data).Append('\n');
            _stderrLines.Add(e.Data);
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Runs the CLI to its end with no input; returns its exit code and everything it wrote.</summary>
    public static (int Code, string Stdout, string Stderr) Run(params string[] args) => Run(null, args);

    /// <summary>As <see cref="Run(string[])"/>, with extra environment variables.</summary>
    public static (int Code, string Stdout, string Stderr) Run(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var p = new CliProcess(environment, args);
        p.CloseInput();
        p.WaitForExit(Timeout.InfiniteTimeSpan);
        return (p.ExitCode, p.Stdout, p.Stderr);
    }

    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    public void WriteLine(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>The next stderr line that satisfies <paramref name="match"/> (earlier ones are skipped); fails after the timeout.</summary>
    public string WaitForStderr(Func<string, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !_stderrLines.TryTake(out var line, left))
                throw new TimeoutException($"no matching stderr line; stderr so far:\n{Stderr}");
            if (match(line)) return line;
        }
    }

    public void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0) throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout)) return false;
        _process.WaitForExit(); // drains the asynchronous output readers
        return true;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
