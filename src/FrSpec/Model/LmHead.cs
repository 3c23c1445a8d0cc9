using FrSpec.Numerics;

namespace FrSpec.Model;

/// <summary>
/// A language-model head: hidden state → logits. Either the full vocabulary, or (FR-Spec) a row subset of the
/// target's head gathered into its own contiguous matrix, with <see cref="TokenIds"/> mapping logit index → token id.
/// Full-vocabulary drafting is the same code with the subset = all tokens.
/// </summary>
public sealed class LmHead : IDisposable
{
    private readonly bool _ownsWeight;
    private readonly Compute _compute;
    public WeightMatrix Weight { get; }
    /// <summary>Token id of each logit row; null for the full head (identity).</summary>
    public int[]? TokenIds { get; }
    public int Size => Weight.Rows;

    public LmHead(Compute compute, WeightMatrix weight, int[]? tokenIds = null, bool ownsWeight = false)
    {
        if (tokenIds != null && tokenIds.Length != weight.Rows) throw new ArgumentException("token id map length != head rows");
        _compute = compute; Weight = weight; TokenIds = tokenIds; _ownsWeight = ownsWeight;
    }

    /// <summary>A head over the given token ids only (rows of this head, in the order given), on the same compute.</summary>
    public LmHead Subset(int[] tokenIds) => new(_compute, Weight.GatherRows(tokenIds), (int[])tokenIds.Clone(), ownsWeight: true);

    /// <summary>Logits [n, Size] for n hidden rows [n, hidden].</summary>
    public void Compute(ReadOnlySpan<float> hidden, int n, Span<float> logits) => MatMul.Multiply(_compute, hidden, n, Weight, logits);

    /// <summary>Token id of logit index i.</summary>
    public int TokenId(int i) => TokenIds == null ? i : TokenIds[i];

    public void Dispose() { if (_ownsWeight) Weight.Dispose(); }
}
