using System.Text;

namespace FrSpec;

/// <summary>
/// A user-facing error: bad input file, tensor, field or option. The message names what is wrong and where;
/// the CLI prints it without a stack trace. Messages are kept to one bounded line whatever the input put in them:
/// control characters (a tensor name with a line break, a NUL in a token) are shown escaped, and an overlong echo of
/// the input is cut.
/// </summary>
public class FrSpecException : Exception
{
    /// <summary>Longest message kept, in characters.</summary>
    public const int MaxMessageLength = 1000;

    public FrSpecException(string message) : base(Clean(message)) { }
    public FrSpecException(string message, Exception inner) : base(Clean(message), inner) { }

    /// <summary>The message as one line of at most <see cref="MaxMessageLength"/> characters.</summary>
    internal static string Clean(string? message)
    {
        if (string.IsNullOrEmpty(message)) return "error";
        bool clean = message.Length <= MaxMessageLength;
        foreach (char c in message) clean &= !char.IsControl(c);
        if (clean) return message;
        var sb = new StringBuilder(Math.Min(message.Length, MaxMessageLength + 40));
        foreach (char c in message)
        {
            if (sb.Length >= MaxMessageLength) break;
            if (!char.IsControl(c)) sb.Append(c);
            else sb.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ => $"\\u{(int)c:X4}" });
        }
        if (sb.Length >= MaxMessageLength) sb.Append($"… ({message.Length:N0} characters in all)");
        return sb.ToString();
    }
}
