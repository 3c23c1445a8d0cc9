namespace FrSpec.Speculative;

/// <summary>
/// Shape of EAGLE-2's dynamic draft tree (docs/formats.md, "EAGLE-2 tree"). <see cref="Depth"/> D is the number of
/// expansion steps after the root's children (so drafted paths have up to D + 1 tokens and one round can emit D + 2);
/// <see cref="TopK"/> k is both the children kept per expanded node and the frontier width;
/// <see cref="TotalTokens"/> T is the tree size verified by the target, root included.
/// Paper/reference settings: EAGLE repo depth 5, top-k 10, 60 tokens; FR-Spec Llama-3-8B num_iter 6 (= depth 5),
/// top-k 10, 60 tokens; Llama-3.2-1B num_iter 3 (= depth 2), 30 tokens. The defaults here are smaller because a CPU
/// verification pass costs more per tree token than a GPU one.
/// </summary>
public sealed record TreeOptions
{
    public int Depth { get; init; } = 4;
    public int TopK { get; init; } = 8;
    public int TotalTokens { get; init; } = 16;

    public static TreeOptions Default { get; } = new();
    /// <summary>The FR-Spec paper's Llama-3-8B setting.</summary>
    public static TreeOptions Paper8B { get; } = new() { Depth = 5, TopK = 10, TotalTokens = 60 };
    /// <summary>The FR-Spec paper's Llama-3.2-1B setting.</summary>
    public static TreeOptions Paper1B { get; } = new() { Depth = 2, TopK = 10, TotalTokens = 30 };

    /// <summary>The tree shape of a plan.</summary>
    public static TreeOptions Of(Generation.TreePlan plan) => new() { Depth = plan.Depth, TopK = plan.TopK, TotalTokens = plan.TotalTokens };

    /// <summary>Candidates the reranking chooses from: k for the root's children, then k² per expansion step.</summary>
    public int CandidateCount => TopK + Depth * TopK * TopK;

    public void Validate()
    {
        if (Depth < 0 || Depth > 32) throw new FrSpecException($"tree depth must be in [0, 32], got {Depth}");
        if (TopK < 1 || TopK > 64) throw new FrSpecException($"tree top-k must be in [1, 64], got {TopK}");
        if (TotalTokens < 1 || TotalTokens > 1024) throw new FrSpecException($"tree tokens must be in [1, 1024] (root included), got {TotalTokens}");
    }
}
