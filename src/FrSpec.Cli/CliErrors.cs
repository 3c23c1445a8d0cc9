namespace FrSpec.Cli;

/// <summary>
/// Prints user errors (bad file, bad input) as one line instead of a stack trace: System.CommandLine's default handler
/// catches exceptions inside actions before Program.Main sees them.
/// </summary>
internal static class CliErrors
{
    public static int Run(Func<int> action)
    {
        try { return action(); }
        catch (Exception e) when (e is FrSpecException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
