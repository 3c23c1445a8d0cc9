using System.Diagnostics;
using FrSpec.Model;

namespace FrSpec.Generation;

/// <summary>
/// Plain autoregressive decoding: one target forward pass per token. The baseline every method is compared with.
/// Holds one sequence's KV cache and scratch; the target itself is shared.
/// </summary>
internal sealed class VanillaDecoder : IDecoder
{
    /// <summary>Prompt tokens per prefill forward pass (bounds scratch memory).</summary>
    public const int PrefillChunk = 128;

    private readonly Transformer _model;
    private readonly ForwardState _state;
    private KvCache? _cache;
    private readonly float[] _logits;
    private readonly float[] _probs;

    public string Name => "vanilla";

    public VanillaDecoder(Transformer model)
    {
        _model = model;
        _state = model.CreateState();
        _logits = new float[model.Config.VocabSize];
        _probs = new float[model.Config.VocabSize];
    }

    public GenerationResult Generate(ReadOnlySpan<int> prompt, GenerationOptions options, Action<int>? onToken = null, CancellationToken cancel = default)
    {
        if (prompt.Length == 0) throw new FrSpecException("the prompt is empty");
        int capacity = prompt.Length + options.MaxNewTokens + 1;
        if (_cache == null || _cache.Capacity < capacity) _cache = _model.CreateCache(Math.Max(capacity, 512));
        var cache = _cache;
        cache.Clear();
        var sampler = new Sampler(options.Sampling);
        var stops = new StopSet(options.StopIds);

        var sw = Stopwatch.StartNew();
        var last = Prefill(_model, _state, cache, prompt, null, cancel);
        _model.Head.Compute(last, 1, _logits);
        double prefill = sw.Elapsed.TotalSeconds;

        var ids = new List<int>(options.MaxNewTokens);
        bool stopped = false;
        int position = prompt.Length;
        Span<int> one = stackalloc int[1];
        Span<int> pos = stackalloc int[1];
        sw.Restart();
        while (ids.Count < options.MaxNewTokens)
        {
            int next = sampler.Sample(_logits, _probs);
            ids.Add(next);
            onToken?.Invoke(next);
            if (stops.Contains(next)) { stopped = true; break; }
            if (ids.Count == options.MaxNewTokens) break;
            cancel.ThrowIfCancellationRequested();
            one[0] = next; pos[0] = position++;
            var h = _model.Forward(_state, cache, one, pos);
            cache.CommitAll();
            _model.Head.Compute(h, 1, _logits);
        }
        double decode = sw.Elapsed.TotalSeconds;
        var accept = new int[Math.Max(0, ids.Count - 1)]; // the first token came from the prefill pass
        Array.Fill(accept, 1);
        return new GenerationResult
        {
            Ids = ids.ToArray(), AcceptLengths = accept, PrefillSeconds = prefill, DecodeSeconds = decode,
            Time = new TimeSplit { Verify = decode }, StoppedByStopId = stopped,
        };
    }

    /// <summary>
    /// Runs the prompt through the model in chunks and commits it; returns the hidden state of the last prompt token
    /// (a copy). <paramref name="allHidden"/> (if given, [prompt, hidden]) receives every position's hidden state (EAGLE
    /// features). <paramref name="allCaptured"/> (if given, [prompt, capture width]) receives the layer inputs that the
    /// state's <see cref="ForwardState.Capture"/> keeps (EAGLE-3 features). Shared by every decoder.
    /// </summary>
    public static float[] Prefill(Transformer model, ForwardState state, KvCache cache, ReadOnlySpan<int> prompt, float[]? allHidden = null,
        CancellationToken cancel = default, float[]? allCaptured = null)
    {
        int hidden = model.Config.HiddenSize;
        var positions = new int[PrefillChunk];
        var last = new float[hidden];
        for (int start = 0; start < prompt.Length; start += PrefillChunk)
        {
            cancel.ThrowIfCancellationRequested();
            int n = Math.Min(PrefillChunk, prompt.Length - start);
            for (int i = 0; i < n; i++) positions[i] = cache.Count + i;
            var h = model.Forward(state, cache, prompt.Slice(start, n), positions.AsSpan(0, n));
            cache.CommitAll();
            if (allHidden != null) h.CopyTo(allHidden.AsSpan(start * hidden, n * hidden));
            if (allCaptured != null)
            {
                var capture = state.Capture ?? throw new ArgumentException("allCaptured needs a state with a layer capture");
                capture.Rows(n).CopyTo(allCaptured.AsSpan(start * capture.Width, n * capture.Width));
            }
            if (start + n == prompt.Length) h.Slice((n - 1) * hidden, hidden).CopyTo(last);
        }
        return last;
    }
}
