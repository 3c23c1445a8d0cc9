namespace FrSpec.Generation;

/// <summary>What to generate: a token budget, how to sample, and which ids end the answer.</summary>
public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 256;
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;
    /// <summary>
    /// Ids that end generation (EOS, end-of-turn); the stop id itself is included in the output ids. Null: the model's
    /// resolved stop tokens when generating through a session (<c>LanguageModel.StopTokens</c>), none for a bare decoder.
    /// </summary>
    public IReadOnlyCollection<int>? StopIds { get; init; }
    /// <summary>Told the number of prompt tokens processed so far while a prompt is prefilled (chunk by chunk), or null.</summary>
    public IProgress<int>? PrefillProgress { get; init; }
}
