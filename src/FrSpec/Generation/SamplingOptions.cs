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
}
