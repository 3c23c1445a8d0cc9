using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace FrSpec.Benchmarks;

/// <summary>The outcome of running one HumanEval program.</summary>
public sealed record HumanEvalOutcome(bool Passed, string Detail);

/// <summary>
/// HumanEval scoring: builds a program from a chat answer and the problem, runs it with python3 in a separate
/// process under a timeout, and counts it passed when `check(entry_point)` raises nothing.
/// This executes model-written code, as OpenAI's harness does; run it on a machine where that is acceptable.
/// </summary>
public static partial class HumanEvalScorer
{
    /// <summary>
    /// The program to test: code from the answer's fenced blocks (or the whole answer). When that code defines the
    /// entry point it follows the prompt (so the prompt's imports and helpers stay and the new definition replaces
    /// the docstring-only one); otherwise it is taken as the body that continues the prompt.
    /// </summary>
    public static string BuildProgram(HumanEvalProblem problem, string answer)
    {
        var code = ExtractCode(problem, answer);
        bool definesEntry = Regex.IsMatch(code, @"^\s*def\s+" + Regex.Escape(problem.EntryPoint) + @"\s*\(", RegexOptions.Multiline);
        string solution = definesEntry ? problem.Prompt + "\n\n" + code : problem.Prompt + code;
        return solution + "\n\n" + problem.Test + "\n\ncheck(" + problem.EntryPoint + ")\n";
    }

    /// <summary>The code in an answer: the fenced block that defines the entry point, else the first fenced block, else the answer itself.</summary>
    public static string ExtractCode(HumanEvalProblem problem, string answer)
    {
        var blocks = Fence().Matches(answer).Select(m => m.Groups[1].Value).ToList();
        if (blocks.Count == 0)
        {
            // An unclosed fence (answer cut by the token budget): take what follows it.
            var open = Regex.Match(answer, @"```[A-Za-z0-9_+-]*[ \t]*\r?\n");
            return open.Success ? answer[(open.Index + open.Length)..] : answer;
        }
        var defPattern = new Regex(@"^\s*def\s+" + Regex.Escape(problem.EntryPoint) + @"\s*\(", RegexOptions.Multiline);
        return blocks.FirstOrDefault(b => defPattern.IsMatch(b)) ?? blocks[0];
    }

    /// <summary>Whether python3 can be started here, and its version line or the reason it cannot.</summary>
    public static (bool Available, string Detail) ProbePython(string python = "python3")
    {
        try
        {
            var psi = new ProcessStartInfo(python, "--version") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(psi);
            if (p is null) return (false, $"{python} could not be started");
            var text = (p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd()).Trim();
            if (!p.WaitForExit(10_000)) { TryKill(p); return (false, $"{python} --version did not answer"); }
            return p.ExitCode == 0 ? (true, text) : (false, $"{python} --version exited with {p.ExitCode}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (false, $"{python} not found ({e.Message})");
        }
    }

    /// <summary>Runs a program with python3 in a fresh temporary folder; passes when it exits 0 within the timeout.</summary>
    public static HumanEvalOutcome Run(string program, TimeSpan timeout, string python = "python3")
    {
        var dir = Directory.CreateTempSubdirectory("frspec-humaneval-");
        try
        {
            var file = Path.Combine(dir.FullName, "program.py");
            File.WriteAllText(file, program, new UTF8Encoding(false));
            var psi = new ProcessStartInfo(python) { WorkingDirectory = dir.FullName, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            psi.ArgumentList.Add("-I"); // isolated: ignore PYTHON* variables and the user's site-packages
            psi.ArgumentList.Add(file);
            using var p = Process.Start(psi) ?? throw new FrSpecException($"{python} could not be started");
            p.StandardInput.Close();
            // Read both pipes asynchronously (a chatty program must not block on a full pipe).
            var err = new StringBuilder();
            var errClosed = new ManualResetEventSlim(); // not disposed: the handler may still run after we return
            p.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) { errClosed.Set(); return; }
                lock (err)
                {
                    err.AppendLine(e.Data);
                    if (err.Length > 16_000) err.Remove(0, err.Length - 8_000); // keep the tail, where the exception is
                }
            };
            p.OutputDataReceived += (_, _) => { };
            p.BeginErrorReadLine();
            p.BeginOutputReadLine();
            if (!p.WaitForExit(timeout))
            {
                TryKill(p);
                return new HumanEvalOutcome(false, $"timed out after {timeout.TotalSeconds:0.#} s");
            }
            if (p.ExitCode == 0) return new HumanEvalOutcome(true, "passed");
            // Let the error output drain for the failure detail, but boundedly: a leftover child could hold the pipe open.
            // 2 s was too short on a loaded 2-core machine (a CI run saw the traceback arrive later).
            errClosed.Wait(TimeSpan.FromSeconds(15));
            string tail;
            lock (err) tail = LastLine(err.ToString());
            return new HumanEvalOutcome(false, $"exit {p.ExitCode}: {tail}");
        }
        finally
        {
            try { dir.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    static string LastLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(no error output)" : lines[^1];
    }

    static void TryKill(Process p)
    {
        try { p.Kill(entireProcessTree: true); p.WaitForExit(5000); } catch (InvalidOperationException) { } catch (System.ComponentModel.Win32Exception) { }
    }

    [GeneratedRegex(@"```[A-Za-z0-9_+-]*[ \t]*\r?\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex Fence();
}
