using FrSpec.Numerics;

namespace FrSpec.Model;

/// <summary>
/// One decode step of several independent sequences as the rows of one pass (continuous batching): every matrix
/// product runs once over all rows, so a step reads the weights once instead of once per sequence, while each row keeps
/// its own position, its own KV cache and its own attention. The matrix kernels are batch-invariant (a row's result does
/// not depend on the other rows) and attention runs per sequence exactly as in a one-token
/// <see cref="Transformer.Forward"/>, so every row equals that sequence's pass alone, bit for bit.
/// </summary>
internal sealed class BatchedForward
{
    private readonly Transformer _model;
    private readonly ForwardState _state;
    private readonly RowAttention _attention = new();
    private AttentionMask[] _masks = [];
    private int[] _slots = [];

    public BatchedForward(Transformer model)
    {
        _model = model;
        _state = model.CreateState();
    }

    /// <summary>
    /// Runs tokens[r] at positions[r] for the sequence whose cache is caches[r] (one new token each, appended and
    /// committed); returns the final-norm hidden states [rows, hidden], valid until the next step. Rows beyond
    /// tokens.Length in <paramref name="caches"/> are ignored (the caller reuses one array).
    /// </summary>
    public ReadOnlySpan<float> Step(KvCache[] caches, ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions)
    {
        var model = _model;
        var config = model.Config;
        int n = tokens.Length, hidden = config.HiddenSize;
        if (caches.Length < n || positions.Length != n) throw new ArgumentException($"{caches.Length} caches and {positions.Length} positions for {n} tokens");
        if (n == 0) return ReadOnlySpan<float>.Empty;
        model.CheckPositions(positions);
        using var pass = _state.Enter(model);
        if (_masks.Length < n)
        {
            int old = _masks.Length;
            Array.Resize(ref _masks, Math.Max(n, 2 * old));
            for (int r = old; r < _masks.Length; r++) _masks[r] = new AttentionMask(0, 0, 0);
            _slots = new int[_masks.Length];
        }

        var b = _state.Buffers;
        b.Ensure(n);
        for (int r = 0; r < n; r++)
        {
            int id = tokens[r];
            if ((uint)id >= (uint)config.VocabSize) throw new FrSpecException($"token id {id} is outside the vocabulary of {config.VocabSize}");
            model.Embedding.ReadRow(id, b.X.AsSpan(r * hidden, hidden));
            // the causal mask of a one-token pass: every cached slot and the token itself
            _masks[r].Reset(caches[r].Length, 1, caches[r].Length);
            _masks[r].FillCausal();
        }
        model.Rope.Tables(positions, b.Cos, b.Sin);
        for (int r = 0; r < n; r++) _slots[r] = caches[r].Append(1);
        try
        {
            var c = model.Compute;
            for (int l = 0; l < model.Layers.Count; l++)
            {
                var layer = model.Layers[l];
                layer.ProjectQkv(c, b, n);
                for (int r = 0; r < n; r++) layer.RopeAndStore(b, r, caches[r], l, _slots[r]);
                _attention.Run(c, layer, b, n, caches, l, _masks);
                layer.OutputAndMlp(c, b, n);
            }
        }
        catch
        {
            for (int r = 0; r < n; r++) caches[r].Rollback();
            throw;
        }
        for (int r = 0; r < n; r++) caches[r].CommitAll();
        for (int r = 0; r < n; r++)
            Ops.RmsNorm(b.X.AsSpan(r * hidden, hidden), model.FinalNorm, config.RmsNormEps, b.Normed.AsSpan(r * hidden, hidden));
        return b.Normed.AsSpan(0, n * hidden);
    }

    /// <summary>
    /// Attention of each row over its own cache, rows spread over the worker pool. Each row runs
    /// <see cref="Attention.Compute"/> with n = 1 on a copy of its query (inline on the worker that takes it), which is
    /// exactly what a one-token pass of that sequence runs.
    /// </summary>
    private sealed class RowAttention : IRangeJob
    {
        private DecoderLayer _layer = null!;
        private ForwardBuffers _buffers = null!;
        private KvCache[] _caches = null!;
        private AttentionMask[] _masks = null!;
        private Compute _compute = null!;
        private int _index;
        [ThreadStatic] private static float[]? t_query, t_output;

        public void Run(Compute compute, DecoderLayer layer, ForwardBuffers b, int n, KvCache[] caches, int index, AttentionMask[] masks)
        {
            (_compute, _layer, _buffers, _caches, _index, _masks) = (compute, layer, b, caches, index, masks);
            compute.Pool.For(n, this, 1);
            (_layer, _buffers, _caches, _masks) = (null!, null!, null!, null!);
        }

        public void Execute(int start, int end)
        {
            int q = _layer.NumHeads * _layer.HeadDim;
            var query = t_query is { } tq && tq.Length >= q ? tq : t_query = new float[q];
            var output = t_output is { } to && to.Length >= q ? to : t_output = new float[q];
            for (int r = start; r < end; r++)
            {
                _buffers.Q.AsSpan(r * q, q).CopyTo(query);
                Attention.Compute(_compute, query, output, 1, _layer.NumHeads, _layer.NumKvHeads, _layer.HeadDim, _caches[r], _index, _masks[r]);
                output.AsSpan(0, q).CopyTo(_buffers.Attn.AsSpan(r * q, q));
            }
        }
    }
}
