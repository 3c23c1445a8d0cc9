using FrSpec.Model;

namespace FrSpec.Generation;

/// <summary>
/// Plain autoregressive decoding: one target forward pass per token. The baseline every method is compared with.
/// Holds one sequence's KV cache and scratch; the target itself is shared. The steps themselves live in
/// <see cref="VanillaSequence"/>, which the batch scheduler also drives (many sequences per pass).
/// </summary>
internal sealed class VanillaDecoder : IDecoder
{
    /// <summary>Prompt tokens per prefill forward pass (bounds scratch memory).</summary>
    public const int PrefillChunk = 128;

    private readonly Transformer _model;
    private KvCache? _cache;
    private readonly float[] _logits;
    private readonly float[] _probs;

    public string Name => "vanilla";

    /// <summary>This decoder's scratch for its own passes (prefill, and decoding when it runs alone).</summary>
    public ForwardState State { get; }

    public VanillaDecoder(Transformer model)
    {
        _model = model;
        State = model.CreateState();
        _logits = new float[model.Config.VocabSize];
        _probs = new float[model.Config.VocabSize];
    }

    /// <summary>Starts a generation on this decoder's cache and buffers (one at a time per decoder).</summary>
    public VanillaSequence Begin(ReadOnlySpan<int> prompt, GenerationOptions options, Action<int>? onToken)
    {
        if (prompt.Length == 0) throw new FrSpecException("the prompt is empty");
        int capacity = prompt.Length + options.MaxNewTokens + 1;
        if (_cache == null || _cache.Capacity < capacity) _cache = _model.CreateCache(Math.Max(capacity, 512));
        return new VanillaSequence(_model, _cache, _logits, _probs, prompt, options, onToken);
    }

    public GenerationResult Generate(ReadOnlySpan<int> prompt, GenerationOptions options, Action<int>? onToken = null, CancellationToken cancel = default)
    {
        var seq = Begin(prompt, options, onToken);
        while (!seq.Prefilled)
        {
            cancel.ThrowIfCancellationRequested();
            seq.PrefillNext(State);
        }
        Span<int> one = stackalloc int[1];
        Span<int> pos = stackalloc int[1];
        while (seq.Advance(_logits))
        {
            if (cancel.IsCancellationRequested) throw new GenerationCanceledException(seq.Result(), cancel);
            one[0] = seq.LastToken; pos[0] = seq.Position;
            var h = _model.Forward(State, seq.Cache, one, pos);
            seq.Cache.CommitAll();
            _model.Head.Compute(h, 1, _logits);
        }
        return seq.Result();
    }

    /// <summary>
    /// Runs the prompt through the model in chunks and commits it; returns the hidden state of the last prompt token
    /// (a copy). <paramref name="allHidden"/> (if given, [prompt, hidden]) receives every position's hidden state (EAGLE
    /// features). <paramref name="progress"/> hears the prompt tokens done after each chunk. Shared by every decoder.
    /// </summary>
    public static float[] Prefill(Transformer model, ForwardState state, KvCache cache, ReadOnlySpan<int> prompt, float[]? allHidden = null,
        CancellationToken cancel = default, IProgress<int>? progress = null)
    {
        var last = new float[model.Config.HiddenSize];
        for (int start = 0; start < prompt.Length;)
        {
            cancel.ThrowIfCancellationRequested();
            start += PrefillPass(model, state, cache, prompt, start, allHidden, last);
            progress?.Report(start);
        }
        return last;
    }

    /// <summary>
    /// One prefill pass: prompt tokens [start, start + <see cref="PrefillChunk"/>) at positions after the cache, committed.
    /// Writes their hidden states into <paramref name="allHidden"/> (when given) and, for the chunk that ends the prompt,
    /// the last one into <paramref name="last"/>. Returns the number of tokens processed.
    /// </summary>
    public static int PrefillPass(Transformer model, ForwardState state, KvCache cache, ReadOnlySpan<int> prompt, int start,
        float[]? allHidden, Span<float> last)
    {
        int hidden = model.Config.HiddenSize;
        int n = Math.Min(PrefillChunk, prompt.Length - start);
        Span<int> positions = stackalloc int[PrefillChunk];
        for (int i = 0; i < n; i++) positions[i] = cache.Count + i;
        var h = model.Forward(state, cache, prompt.Slice(start, n), positions[..n]);
        cache.CommitAll();
        if (allHidden != null) h.CopyTo(allHidden.AsSpan(start * hidden, n * hidden));
        if (start + n == prompt.Length) h.Slice((n - 1) * hidden, hidden).CopyTo(last);
        return n;
    }
}
