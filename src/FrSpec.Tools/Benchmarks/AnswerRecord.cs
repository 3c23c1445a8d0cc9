using FrSpec.Generation;

namespace FrSpec.Benchmarks;

/// <summary>
/// One method's answer to one question: a line of a Spec-Bench answer file
/// ({question_id, category, answer_id, model_id, choices: [{index, turns, decoding_steps, new_tokens, wall_time,
/// accept_lengths}], tstamp}) with extra per-turn fields that Spec-Bench's scripts ignore (token ids, time split).
/// </summary>
public sealed record AnswerRecord
{
    public required string QuestionId { get; init; }
    /// <summary>Set when the question file's id is numeric, so the answer file keeps it a JSON number.</summary>
    public long? NumericQuestionId { get; init; }
    public required string Category { get; init; }
    public required string AnswerId { get; init; }
    public required string ModelId { get; init; }
    /// <summary>Unix time in seconds when the answer was written.</summary>
    public double Tstamp { get; init; }
    public required IReadOnlyList<TurnResult> Turns { get; init; }
    /// <summary>False for answer files written by other tools, which carry text but no token ids.</summary>
    public bool HasTokenIds { get; init; } = true;

    public long NewTokens => Turns.Sum(t => (long)t.TokenIds.Length);
    public double WallTime => Turns.Sum(t => t.WallTime);
}

/// <summary>What one turn of one answer produced and cost.</summary>
public sealed record TurnResult
{
    /// <summary>The answer text as Spec-Bench stores it: stop id removed, special tokens skipped, trimmed.</summary>
    public required string Text { get; init; }
    /// <summary>Generated ids including a final stop id (what the decoder returned); compared for equivalence.</summary>
    public required int[] TokenIds { get; init; }
    /// <summary>Tokens emitted per target forward pass after prefill (accepted drafts plus the bonus token).</summary>
    public required int[] AcceptLengths { get; init; }
    /// <summary>Seconds around the decoder call (prefill and decode), as Spec-Bench times forward_func.</summary>
    public required double WallTime { get; init; }
    public double PrefillSeconds { get; init; }
    public double DecodeSeconds { get; init; }
    public TimeSplit Time { get; init; } = new();
    public bool StoppedByStopId { get; init; }
    /// <summary>The tree the speculative method ended the turn with (the automatic tree's choice); null for vanilla.</summary>
    public TreePlan? Tree { get; init; }
}
