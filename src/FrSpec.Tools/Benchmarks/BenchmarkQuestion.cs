namespace FrSpec.Benchmarks;

/// <summary>
/// One benchmark question: a conversation of user turns (MT-bench items have two, where the second refers to the
/// model's first answer) plus what is needed to score the answer.
/// </summary>
public sealed record BenchmarkQuestion
{
    /// <summary>The question id as text ("81", "HumanEval/0"); answers are matched to questions by it.</summary>
    public required string Id { get; init; }
    /// <summary>The id as a number when the source file has a numeric id, so answer files keep its JSON type.</summary>
    public long? NumericId { get; init; }
    /// <summary>Spec-Bench category ("writing", "translation", ...), or the set's name when the file has none.</summary>
    public required string Category { get; init; }
    /// <summary>User messages, one per turn.</summary>
    public required IReadOnlyList<string> Turns { get; init; }
    /// <summary>Reference answers when the file has them (GSM8K: the worked solution ending in "#### N").</summary>
    public IReadOnlyList<string> References { get; init; } = Array.Empty<string>();
    /// <summary>The HumanEval problem when this question is one.</summary>
    public HumanEvalProblem? HumanEval { get; init; }
}

/// <summary>A HumanEval problem as in OpenAI's HumanEval.jsonl.</summary>
public sealed record HumanEvalProblem(string TaskId, string Prompt, string EntryPoint, string Test, string CanonicalSolution);
