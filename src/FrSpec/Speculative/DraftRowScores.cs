using FrSpec.Numerics;

namespace FrSpec.Speculative;

/// <summary>
/// The per-row work after a draft LM head, for every row of one step at once: each row's ranked top candidates
/// (<see cref="TopSelector"/>) and its log-sum-exp (<see cref="Ops.LogSumExp"/>), which turns a candidate's logit
/// into its log-probability. Rows are independent, so they are split over the worker pool (a 32k-token FR head gives
/// 8 rows of 32k logits per step). Buffers are sized once for the drafter's bounds; a step allocates nothing.
/// </summary>
internal sealed class DraftRowScores : IRangeJob
{
    private readonly int[] _indices;
    private readonly float[] _values, _logSumExp;
    private readonly int[] _counts;
    private float[] _logits = [];
    private int _vocab;

    public DraftRowScores(int maxRows, int candidates)
    {
        Candidates = candidates;
        _indices = new int[maxRows * candidates]; _values = new float[maxRows * candidates];
        _logSumExp = new float[maxRows]; _counts = new int[maxRows];
    }

    /// <summary>Candidates kept per row (best first, ties to the lower index).</summary>
    public int Candidates { get; }

    /// <summary>Scores rows [0, <paramref name="rows"/>) of <paramref name="logits"/> ([rows, vocab]).</summary>
    public void Score(WorkerPool pool, float[] logits, int vocab, int rows)
    {
        if (rows > _counts.Length) throw new ArgumentOutOfRangeException(nameof(rows), $"{rows} rows exceed the {_counts.Length} these scores hold");
        _logits = logits; _vocab = vocab;
        pool.For(rows, this);
        _logits = [];
    }

    public void Execute(int start, int end)
    {
        for (int r = start; r < end; r++)
        {
            var row = _logits.AsSpan(r * _vocab, _vocab);
            int n = _counts[r] = TopSelector.Select(row, Candidates, _indices.AsSpan(r * Candidates, Candidates), _values.AsSpan(r * Candidates, Candidates));
            _logSumExp[r] = n == 0 ? float.NegativeInfinity : Ops.LogSumExp(row, _values[r * Candidates]);
        }
    }

    /// <summary>How many candidates row <paramref name="row"/> has (fewer than <see cref="Candidates"/> only for a tiny vocabulary).</summary>
    public int Count(int row) => _counts[row];

    /// <summary>Index (in the head's row space) of candidate <paramref name="c"/> of <paramref name="row"/>.</summary>
    public int Index(int row, int c) => _indices[row * Candidates + c];

    /// <summary>Logit of candidate <paramref name="c"/> of <paramref name="row"/>.</summary>
    public float Logit(int row, int c) => _values[row * Candidates + c];

    /// <summary>log Σ e^logit over the row's whole draft vocabulary.</summary>
    public float LogSumExp(int row) => _logSumExp[row];
}
