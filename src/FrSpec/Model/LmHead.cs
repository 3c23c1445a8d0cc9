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
    private readonly int[]? _tokenIds;
    public WeightMatrix Weight { get; }
    /// <summary>Token id of each logit row; null for the full head (identity).</summary>
    public IReadOnlyList<int>? TokenIds => _tokenIds;
    public int Size => Weight.Rows;

    internal LmHead(Compute compute, WeightMatrix weight, int[]? tokenIds = null, bool ownsWeight = false)
    {
        if (tokenIds != null && tokenIds.Length != weight.Rows) throw new ArgumentException("token id map length != head rows");
        _compute = compute; Weight = weight; _tokenIds = tokenIds; _ownsWeight = ownsWeight;
    }

    /// <summary>
    /// FR-Spec's draft head: the rows of <paramref name="vocabulary"/>'s ids gathered (in its order) into a matrix of its own,
    /// on the same compute. The vocabulary was validated when it was made; its id array is shared, not copied.
    /// </summary>
    public LmHead Subset(DraftVocabulary vocabulary)
    {
        if (_tokenIds != null) throw new InvalidOperationException("a subset head cannot be subset again: take the subset of the full head");
        if (vocabulary.VocabSize != Weight.Rows)
            throw new FrSpecException($"the draft vocabulary indexes {vocabulary.VocabSize} ids but this head has {Weight.Rows} rows (a vocabulary of another model?)");
        return new LmHead(_compute, Weight.GatherRows(vocabulary.IdArray), vocabulary.IdArray, ownsWeight: true);
    }

    /// <summary>
    /// A head of some of this head's rows (gathered once into a matrix of their own): logit i is row
    /// <paramref name="rows"/>[i] of this head's weight, standing for token <paramref name="tokenIds"/>[i]. Drafters with
    /// a head of their own use it to keep the rows their tokens can be (a draft model's rows shared with the target, an
    /// FR-Spec subset of an EAGLE-3 or Medusa head). The arrays are kept, not copied.
    /// </summary>
    internal LmHead SelectRows(int[] rows, int[] tokenIds)
    {
        if (rows.Length != tokenIds.Length || rows.Length == 0) throw new ArgumentException("rows and token ids must be non-empty and of equal length");
        return new LmHead(_compute, Weight.GatherRows(rows), tokenIds, ownsWeight: true);
    }

    /// <summary>Logits [n, Size] for n hidden rows [n, hidden]; NaN or ∞ among them is an error naming the cause.</summary>
    public void Compute(ReadOnlySpan<float> hidden, int n, Span<float> logits)
    {
        MatMul.Multiply(_compute, hidden, n, Weight, logits);
        if (!NonFinite.AllFinite(logits[..(n * Size)])) throw NonFinite.Logits(this, hidden[..(n * Weight.Cols)]);
    }

    /// <summary>The worker pool the head's products run on (per-row work after the head shares it).</summary>
    internal WorkerPool Pool => _compute.Pool;

    /// <summary>Token id of logit index i.</summary>
    public int TokenId(int i) => _tokenIds == null ? i : _tokenIds[i];

    public void Dispose() { if (_ownsWeight) Weight.Dispose(); }
}
