namespace FrSpec.Model;

/// <summary>Scratch activations for up to <see cref="MaxTokens"/> tokens of one model; grown on demand, then reused.</summary>
internal sealed class ForwardBuffers
{
    public int MaxTokens { get; private set; }
    public float[] X = [], Normed = [], Q = [], K = [], V = [], Attn = [], Gate = [], Up = [], Tmp = [], Cos = [], Sin = [];
    /// <summary>Phase timings of the passes using these buffers (benchmarks), or null.</summary>
    public PassProfile? Profile;
    /// <summary>The per-row work of a layer pass on the worker pool (this caller's job object).</summary>
    public readonly LayerRowWork RowWork = new();
    private readonly int _h, _q, _kv, _i, _half;

    /// <summary>Row widths of X/Normed and of Gate/Up.</summary>
    public int Hidden => _h;
    public int Intermediate => _i;

    public ForwardBuffers(int hidden, int qDim, int kvDim, int intermediate, int headDim)
    {
        _h = hidden; _q = qDim; _kv = kvDim; _i = intermediate; _half = headDim / 2;
    }

    public void Ensure(int n)
    {
        if (n <= MaxTokens) return;
        int m = Math.Max(n, MaxTokens * 2);
        X = new float[m * _h]; Normed = new float[m * _h]; Tmp = new float[m * _h];
        Q = new float[m * _q]; Attn = new float[m * _q];
        K = new float[m * _kv]; V = new float[m * _kv];
        Gate = new float[m * _i]; Up = new float[m * _i];
        Cos = new float[m * _half]; Sin = new float[m * _half];
        MaxTokens = m;
    }
}
