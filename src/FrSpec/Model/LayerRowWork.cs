using System.Runtime.CompilerServices;
using FrSpec.Numerics;

namespace FrSpec.Model;

/// <summary>
/// The per-row parts of a layer pass (the embedding gather, RMSNorm, RoPE, the SwiGLU activation, the residual adds), split over the worker
/// pool by rows once a pass has <see cref="MinRows"/> rows. They are element-wise or row-local, single-threaded they
/// took ~3% of a 32-token verification and of prefill, and each row gets the same bits whichever thread computes it,
/// so batch invariance holds. One per <see cref="ForwardBuffers"/> (one caller): a call allocates nothing.
/// </summary>
internal sealed class LayerRowWork : IRangeJob
{
    /// <summary>Fewer rows run on the calling thread: a decode step's single row is not worth a pool region.</summary>
    public const int MinRows = 2;

    private enum Kind { Embed, Norm, AddAndNorm, Add, Rotate, SiluMul }

    private Kind _kind;
    private ForwardBuffers _b = null!;
    private DecoderLayer _layer = null!;
    private float[]? _weight;
    private float _eps;
    private WeightMatrix _embedding = null!;
    private int[] _tokens = [];

    /// <summary>Row t of buffers.X ← embedding row tokens[t] (ids already checked against the vocabulary). A tied bf16
    /// head's panel layout spreads a row over a whole 128 KB panel, so a gather is memory-bound and two threads read
    /// twice as fast.</summary>
    public void Embed(Compute c, ForwardBuffers b, WeightMatrix embedding, ReadOnlySpan<int> tokens)
    {
        if (_tokens.Length < tokens.Length) _tokens = new int[Math.Max(tokens.Length, 2 * _tokens.Length)];
        tokens.CopyTo(_tokens);
        _kind = Kind.Embed; _b = b; _embedding = embedding;
        Run(c, tokens.Length);
    }

    /// <summary>buffers.Normed ← RMSNorm(buffers.X) row by row (weight null: a plain copy, EAGLE's layer without input norm).</summary>
    public void Norm(Compute c, ForwardBuffers b, int n, float[]? weight, float eps)
    {
        _kind = Kind.Norm; _b = b; _weight = weight; _eps = eps;
        Run(c, n);
    }

    /// <summary>buffers.X += buffers.Tmp, then buffers.Normed ← RMSNorm(X), row by row: the attention block's residual add
    /// fused with the MLP's norm (one visit of each row; two regions and a second read of X before).</summary>
    public void AddAndNorm(Compute c, ForwardBuffers b, int n, float[] weight, float eps)
    {
        _kind = Kind.AddAndNorm; _b = b; _weight = weight; _eps = eps;
        Run(c, n);
    }

    /// <summary>buffers.X += buffers.Tmp row by row (the MLP block's residual add; on one thread it took as long as
    /// a norm region).</summary>
    public void Add(Compute c, ForwardBuffers b, int n)
    {
        _kind = Kind.Add; _b = b;
        Run(c, n);
    }

    /// <summary>Rotates the query and key heads of rows [0, n) of buffers.Q/K (RoPE).</summary>
    public void Rotate(Compute c, DecoderLayer layer, ForwardBuffers b, int n)
    {
        _kind = Kind.Rotate; _layer = layer; _b = b;
        Run(c, n);
    }

    /// <summary>buffers.Gate ← silu(Gate) ⊙ Up, row by row.</summary>
    public void SiluMul(Compute c, ForwardBuffers b, int n)
    {
        _kind = Kind.SiluMul; _b = b;
        Run(c, n);
    }

    private void Run(Compute c, int n)
    {
        try
        {
            if (n < MinRows) Execute(0, n);
            else c.Pool.For(n, this, 1, n); // a row per chunk: rows are short, and even shares end the region together
        }
        finally { _b = null!; _layer = null!; _weight = null; _embedding = null!; }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int start, int end)
    {
        var b = _b;
        for (int t = start; t < end; t++)
            switch (_kind)
            {
                case Kind.Embed:
                    _embedding.ReadRow(_tokens[t], b.X.AsSpan(t * b.Hidden, b.Hidden));
                    break;
                case Kind.Norm:
                {
                    int h = b.Hidden;
                    var x = b.X.AsSpan(t * h, h);
                    if (_weight != null) Ops.RmsNorm(x, _weight, _eps, b.Normed.AsSpan(t * h, h));
                    else x.CopyTo(b.Normed.AsSpan(t * h, h));
                    break;
                }
                case Kind.AddAndNorm:
                {
                    int h = b.Hidden;
                    Ops.AddAndNorm(b.X.AsSpan(t * h, h), b.Tmp.AsSpan(t * h, h), _weight, _eps, b.Normed.AsSpan(t * h, h));
                    break;
                }
                case Kind.Add:
                {
                    int h = b.Hidden;
                    var x = b.X.AsSpan(t * h, h);
                    Ops.Add(x, b.Tmp.AsSpan(t * h, h));
                    break;
                }
                case Kind.Rotate:
                    _layer.Rotate(b, t);
                    break;
                default:
                {
                    int i = b.Intermediate;
                    Ops.SiluMul(b.Gate.AsSpan(t * i, i), b.Up.AsSpan(t * i, i));
                    break;
                }
            }
    }
}
