namespace FrSpec.Text.Jinja;

/// <summary>
/// An error inside the template engine: a syntax error, a runtime type error, a limit reached, or raise_exception.
/// Carries the offset in the template it applies to (set by the innermost node being evaluated when it is not known
/// where it is thrown); <see cref="JinjaTemplate"/> turns it into a one-line <see cref="FrSpecException"/>.
/// </summary>
internal sealed class JinjaException(string message, int position = -1, bool raisedByTemplate = false) : Exception(message)
{
    public int Position { get; set; } = position;

    /// <summary>True for raise_exception(): the message is the template's own, not the engine's.</summary>
    public bool RaisedByTemplate { get; } = raisedByTemplate;
}
