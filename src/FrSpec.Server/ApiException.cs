namespace FrSpec.Server;

/// <summary>
/// A request the server refuses, with the HTTP status and the fields of the OpenAI error object
/// <c>{"error": {"message", "type", "param", "code"}}</c>.
/// </summary>
public sealed class ApiException : Exception
{
    public int Status { get; }
    /// <summary>"invalid_request_error", "not_found_error", "server_error", ...</summary>
    public string Type { get; }
    /// <summary>The request field at fault, or null.</summary>
    public string? Param { get; }
    /// <summary>A machine-readable code ("context_length_exceeded", "model_not_found", ...), or null.</summary>
    public string? Code { get; }

    public ApiException(int status, string message, string type = "invalid_request_error", string? param = null, string? code = null)
        : base(OneLine(message))
    {
        Status = status; Type = type; Param = param; Code = code;
    }

    /// <summary>Longest message sent to a client.</summary>
    public const int MaxMessageLength = 1000;

    /// <summary>
    /// The message as one bounded line, whatever of the request it echoes (a JSON parser's excerpt of the body, a field
    /// value): control characters escaped, cut to <see cref="MaxMessageLength"/> characters.
    /// </summary>
    private static string OneLine(string message)
    {
        if (message.Length <= MaxMessageLength && !message.Any(char.IsControl)) return message;
        var sb = new System.Text.StringBuilder();
        foreach (char c in message)
        {
            if (sb.Length >= MaxMessageLength && !char.IsLowSurrogate(c)) return sb.Append('…').ToString();
            sb.Append(char.IsControl(c) ? $"\\u{(int)c:X4}" : c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// A value from the request shown in a message: quoted, control characters escaped and cut to 100 characters, so a
    /// message stays one bounded line whatever the client sent.
    /// </summary>
    public static string Quote(string value)
    {
        int n = value.Length <= 100 ? value.Length : char.IsHighSurrogate(value[99]) ? 99 : 100;   // never half a pair
        var sb = new System.Text.StringBuilder("'");
        foreach (char c in value.AsSpan(0, n))
            sb.Append(char.IsControl(c) ? $"\\u{(int)c:X4}" : c);
        return sb.Append(n < value.Length ? "…'" : "'").ToString();
    }

    /// <summary>400 for a field that is missing, of the wrong type or out of range.</summary>
    public static ApiException Invalid(string param, string message, string? code = null) => new(400, message, "invalid_request_error", param, code);

    /// <summary>400 for a feature this server does not implement.</summary>
    public static ApiException Unsupported(string param, string message) => new(400, message, "invalid_request_error", param, "unsupported_parameter");
}
