namespace FrSpec.Speculative;

/// <summary>
/// llama.cpp's draft cut-offs (`--draft-p-min`, `--draft-min`), applied to any tree <see cref="EagleDrafter"/> grows:
/// a child whose draft probability is below <see cref="MinProbability"/> is not drafted (nor anything under it), so a
/// chain stops at its first unsure token; a round that drafts fewer than <see cref="MinDraftTokens"/> tokens verifies
/// the root alone, as a plain decoding step. The maximum is the tree's size (<see cref="TreeOptions"/>).
/// </summary>
public sealed record DraftLimits
{
    /// <summary>Smallest draft probability a drafted token may have (0 = no cut-off).</summary>
    public float MinProbability { get; init; }

    /// <summary>Fewest drafted tokens worth a verification pass (0 = any).</summary>
    public int MinDraftTokens { get; init; }

    public static DraftLimits None { get; } = new();

    public void Validate()
    {
        if (!(MinProbability >= 0 && MinProbability <= 1)) throw new FrSpecException($"draft minimum probability must be in [0, 1], got {MinProbability}");
        if (MinDraftTokens < 0) throw new FrSpecException($"draft minimum must be 0 or more, got {MinDraftTokens}");
    }
}
