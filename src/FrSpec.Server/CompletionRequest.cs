using FrSpec.Text;

namespace FrSpec.Server;

/// <summary>
/// A validated /v1/chat/completions or /v1/completions request: either chat messages (with optional tools) or a
/// prompt (text or token ids), and the generation settings. Null settings were not given.
/// </summary>
public sealed record CompletionRequest
{
    /// <summary>The requested model id, or null.</summary>
    public string? Model { get; init; }
    /// <summary>Chat messages (chat completions), else null.</summary>
    public IReadOnlyList<ChatMessage>? Messages { get; init; }
    /// <summary>Prompt text (completions), else null.</summary>
    public string? Prompt { get; init; }
    /// <summary>Prompt token ids (completions with a token array), else null.</summary>
    public IReadOnlyList<int>? PromptIds { get; init; }
    /// <summary>Tools offered to the model (null: none, or tool_choice "none").</summary>
    public IReadOnlyList<ChatTool>? Tools { get; init; }
    public int? MaxTokens { get; init; }
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    /// <summary>top_k, an extension many local servers accept.</summary>
    public int? TopK { get; init; }
    public ulong? Seed { get; init; }
    public IReadOnlyList<string>? Stop { get; init; }
    public bool Stream { get; init; }
    /// <summary>stream_options.include_usage: a last chunk with usage and no choices.</summary>
    public bool IncludeUsage { get; init; }
}
