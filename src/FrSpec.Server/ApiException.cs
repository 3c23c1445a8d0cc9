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
        : base(message)
    {
        Status = status; Type = type; Param = param; Code = code;
    }

    /// <summary>400 for a field that is missing, of the wrong type or out of range.</summary>
    public static ApiException Invalid(string param, string message, string? code = null) => new(400, message, "invalid_request_error", param, code);

    /// <summary>400 for a feature this server does not implement.</summary>
    public static ApiException Unsupported(string param, string message) => new(400, message, "invalid_request_error", param, "unsupported_parameter");
}
