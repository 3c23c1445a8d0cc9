namespace FrSpec;

/// <summary>
/// A user-facing error: bad input file, tensor, field or option. The message names what is wrong and where;
/// the CLI prints it without a stack trace.
/// </summary>
public class FrSpecException : Exception
{
    public FrSpecException(string message) : base(message) { }
    public FrSpecException(string message, Exception inner) : base(message, inner) { }
}
