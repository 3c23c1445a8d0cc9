namespace FrSpec.Generation;

/// <summary>
/// How the next token is chosen from the target's logits. Temperature 0 means greedy (argmax).
/// TopK 0 and TopP 1 disable those filters. The same options drive vanilla sampling and the
/// speculative verifier, so both sample from exactly the same processed distribution.
/// </summary>
public sealed record SamplingOptions(float Temperature = 0f, int TopK = 0, float TopP = 1f, ulong Seed = 0)
{
    public bool IsGreedy => Temperature <= 0f;

    public static SamplingOptions Greedy { get; } = new();

    /// <summary>Throws <see cref="FrSpecException"/> naming the first invalid value (NaN and ±∞ included).</summary>
    public void Validate()
    {
        if (!(Temperature >= 0) || !float.IsFinite(Temperature)) throw new FrSpecException($"temperature must be a finite number >= 0, got {Temperature}");
        if (!(TopP > 0 && TopP <= 1)) throw new FrSpecException($"top-p must be in (0, 1], got {TopP}");
        if (TopK < 0) throw new FrSpecException($"top-k must be >= 0, got {TopK}");
    }
}
