namespace FrSpec.Text;

/// <summary>One chat turn: role is "system", "user" or "assistant".</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// Renders conversations as a model family's HF chat_template does (placeholder until the tokenizer work lands).
/// </summary>
public sealed class ChatTemplate
{
    /// <summary>Loads the template of a model directory (tokenizer_config.json's chat_template).</summary>
    public static ChatTemplate FromModelDirectory(string modelDir) => throw new NotImplementedException();

    /// <summary>The prompt text; special-token text in it is recognised by the tokenizer.</summary>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt) => throw new NotImplementedException();
}
