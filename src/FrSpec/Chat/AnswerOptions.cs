using FrSpec.Generation;

namespace FrSpec.Chat;

/// <summary>How to generate one answer: the token budget and sampling, stop sequences, and whether tools were offered.</summary>
public sealed record AnswerOptions
{
    /// <summary>Budget, sampling and stop ids (null stop ids: the model's).</summary>
    public GenerationOptions Generation { get; init; } = new();

    /// <summary>Texts that end the answer, matched across token boundaries and left out of it.</summary>
    public IReadOnlyList<string>? StopSequences { get; init; }

    /// <summary>Whether the prompt offered tools: the answer is then checked for tool calls (<see cref="Text.ToolCallParser"/>).</summary>
    public bool ToolCalls { get; init; }
}

/// <summary>Why an answer ended, in the words of the OpenAI API.</summary>
public enum FinishReason
{
    /// <summary>A stop token or stop sequence.</summary>
    Stop,
    /// <summary>The token budget.</summary>
    Length,
    /// <summary>The answer is one or more tool calls.</summary>
    ToolCalls,
}

/// <summary>How an answer ended: the reason, the tool calls it made, and the generation's ids and statistics.</summary>
public sealed record AnswerEnd(FinishReason Reason, IReadOnlyList<Text.ChatToolCall> ToolCalls, GenerationResult Result)
{
    /// <summary>"stop", "length" or "tool_calls".</summary>
    public string ReasonText => Reason switch { FinishReason.Length => "length", FinishReason.ToolCalls => "tool_calls", _ => "stop" };
}
