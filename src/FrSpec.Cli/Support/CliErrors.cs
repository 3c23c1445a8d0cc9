using System.CommandLine;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace FrSpec.Cli.Support;

/// <summary>
/// The CLI's one error path. Every failure ends as one line "error: message" on stderr and a non-zero exit code:
/// 1 for bad input (files, fields, arguments), 130 when cancelled, 70 for an internal error (a bug). Exceptions that
/// wrap the real one (worker threads, reflection, type initializers) are unwrapped first. The global
/// --debug option adds the full exception with its stack trace.
/// </summary>
internal static class CliErrors
{
    public const int BadInput = 1;
    public const int Internal = 70;
    public const int Cancelled = 130;

    public const string DebugName = "--debug";

    /// <summary>--debug, accepted by every verb: print stack traces of errors.</summary>
    public static Option<bool> CreateDebugOption() => new(DebugName)
    {
        Description = "On an error, print the exception with its stack trace as well as the one-line message",
        Recursive = true,
    };

    /// <summary>Set by <see cref="Program.Run"/> for the invocation in progress on this thread.</summary>
    [ThreadStatic] public static bool Debug;

    /// <summary>True while <see cref="Program.Run"/> runs a command on this thread: it reports errors itself.</summary>
    [ThreadStatic] public static bool InProgram;

    /// <summary>
    /// Runs a verb's action. Under <see cref="Program.Run"/> exceptions go on to its report; when the command tree is
    /// invoked directly (tests), any exception becomes the same one-line report here.
    /// </summary>
    public static int Run(Func<int> action)
    {
        try { return action(); }
        catch (Exception e) when (!InProgram) { return Report(e, Console.Error); }
    }

    /// <summary>Writes the report of <paramref name="e"/> (and with --debug the whole exception) and returns the exit code.</summary>
    public static int Report(Exception e, TextWriter error)
    {
        var (message, code) = Describe(e);
        if (Debug) error.WriteLine(e.ToString());
        error.WriteLine($"error: {message}");
        return code;
    }

    /// <summary>The exception that says what went wrong, under the ones that only carry it across threads or reflection.</summary>
    public static Exception Unwrap(Exception e)
    {
        while (true)
        {
            switch (e)
            {
                case AggregateException a:
                    var inner = a.Flatten().InnerExceptions;
                    if (inner.Count == 0) return e;
                    // Several workers may fail at once: the first user-facing error explains the run best.
                    e = inner.FirstOrDefault(x => Unwrap(x) is FrSpecException) ?? inner[0];
                    continue;
                case TargetInvocationException { InnerException: { } t }:
                    e = t;
                    continue;
                case TypeInitializationException { InnerException: { } ti }:
                    e = ti;
                    continue;
                default:
                    return e;
            }
        }
    }

    /// <summary>One-line message and exit code for an exception, by family.</summary>
    public static (string Message, int ExitCode) Describe(Exception exception)
    {
        var e = Unwrap(exception);
        var (message, code) = e switch
        {
            FrSpecException => (e.Message, BadInput),
            OperationCanceledException => ("cancelled", Cancelled),
            RegexMatchTimeoutException r =>
                ($"a regular expression from a tokenizer file took longer than {r.MatchTimeout.TotalSeconds:0.#} s on the input (pattern {Shorten(r.Pattern, 80)}): the pattern backtracks catastrophically", BadInput),
            JsonException => ($"invalid JSON: {e.Message}", BadInput),
            DecoderFallbackException => ($"invalid UTF-8 text: {e.Message}", BadInput),
            InvalidDataException => ($"invalid data: {e.Message}", BadInput),
            IOException or UnauthorizedAccessException => (e.Message, BadInput),
            ArgumentException => ($"invalid argument: {e.Message}", BadInput),
            FormatException or OverflowException => ($"invalid value: {e.Message}", BadInput),
            OutOfMemoryException or InsufficientExecutionStackException =>
                ($"the input asks for more memory (or nesting) than this process has ({e.GetType().Name})", BadInput),
            NotSupportedException => (e.Message, BadInput),
            _ => ($"internal error ({e.GetType().Name}: {e.Message}); this is a bug in FrSpec, please report it with the output of --debug", Internal),
        };
        return (OneLine(message), code);
    }

    /// <summary>Collapses line breaks so that a message stays one line.</summary>
    public static string OneLine(string s)
    {
        if (s.IndexOfAny(['\r', '\n']) < 0) return s;
        var parts = s.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" ", parts);
    }

    private static string Shorten(string s, int max) => s.Length <= max ? s : s[..max] + "…";
}
