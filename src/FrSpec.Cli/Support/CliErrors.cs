namespace FrSpec.Cli.Support;

/// <summary>
/// Prints user errors as "error: message" (exit code 1) inside a verb's action. System.CommandLine's default
/// exception handler would otherwise catch them before Program.Main does and print a stack trace.
/// </summary>
internal static class CliErrors
{
    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is FrSpecException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
