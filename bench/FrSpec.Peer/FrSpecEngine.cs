using FrSpec.Model;

namespace FrSpec.Peer;

/// <summary>FrSpec's <see cref="Transformer"/> behind <see cref="IPeerEngine"/>: forward, then the full LM head for the rows asked.</summary>
internal sealed class FrSpecEngine : IPeerEngine
{
    private readonly Transformer _model;
    private readonly ForwardState _state;
    private readonly KvCache _cache;
    private readonly int[] _positions;

    public FrSpecEngine(string model, int contextSize, WeightMemory memory, int threads, Precision precision = Precision.Fast)
    {
        _model = Transformer.Load(model, new FrSpec.EngineOptions { WeightMemory = memory, Threads = threads, Precision = precision });
        _state = _model.CreateState();
        _cache = _model.CreateCache(contextSize);
        _positions = new int[contextSize];
    }

    public string Name => "FrSpec";
    public int VocabSize => _model.Config.VocabSize;
    public int Length => _cache.Length;
    public Transformer Model => _model;
    public Precision Precision => _model.Compute.Precision;

    public void Clear() => _cache.Clear();

    public void Run(ReadOnlySpan<int> tokens, bool allLogits, Span<float> logits)
    {
        int n = tokens.Length, start = _cache.Length, hidden = _model.Config.HiddenSize;
        var pos = _positions.AsSpan(0, n);
        for (int i = 0; i < n; i++) pos[i] = start + i;
        var h = _model.Forward(_state, _cache, tokens, pos);
        _cache.CommitAll();
        if (allLogits) _model.Head.Compute(h, n, logits[..(n * VocabSize)]);
        else _model.Head.Compute(h.Slice((n - 1) * hidden, hidden), 1, logits[..VocabSize]);
    }

    public void Truncate(int length) => _cache.Truncate(length);

    public void Dispose() => _model.Dispose();
}
