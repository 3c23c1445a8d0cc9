using System.Diagnostics;
using FrSpec.Model;

namespace FrSpec.Generation;

/// <summary>
/// One plain autoregressive generation in progress, advanced a step at a time: prefill chunk by chunk, then per token
/// "sample from the logits, emit, feed the token back". <see cref="VanillaDecoder"/> drives it alone with one-token
/// forward passes; the batch scheduler drives many at once, one row each of a batched pass. Both run exactly the same
/// operations on a sequence, so its tokens do not depend on who drives it or on what else runs.
/// </summary>
internal sealed class VanillaSequence
{
    private readonly Transformer _model;
    private readonly int[] _prompt;
    private readonly float[] _probs, _last;
    private readonly Sampler _sampler;
    private readonly StopSet _stops;
    private readonly List<int> _ids;
    private readonly Action<int>? _onToken;
    private readonly IProgress<int>? _prefillProgress;
    private readonly int _maxNewTokens;
    private readonly long _start;
    private long _prefillEnd, _end;
    private int _prefilled;
    private bool _stopped;

    /// <summary>This sequence's KV cache (cleared at the start).</summary>
    public KvCache Cache { get; }

    /// <summary>Logits of the last processed token: the next token is sampled from them.</summary>
    public float[] Logits { get; }

    /// <summary>The token to feed to the model next (the last one emitted).</summary>
    public int LastToken { get; private set; }

    /// <summary>Position of <see cref="LastToken"/> in the sequence.</summary>
    public int Position { get; private set; }

    public int PromptLength => _prompt.Length;

    /// <summary>Prompt tokens still to prefill.</summary>
    public int PromptRemaining => _prompt.Length - _prefilled;

    /// <summary>True once every prompt chunk has run and <see cref="Logits"/> hold the first token's distribution.</summary>
    public bool Prefilled => _prefilled == _prompt.Length;

    public VanillaSequence(Transformer model, KvCache cache, float[] logits, float[] probs, ReadOnlySpan<int> prompt, GenerationOptions options, Action<int>? onToken)
    {
        if (prompt.Length == 0) throw new FrSpecException("the prompt is empty");
        _model = model; Cache = cache; Logits = logits; _probs = probs;
        _prompt = prompt.ToArray();
        _last = new float[model.Config.HiddenSize];
        _sampler = new Sampler(options.Sampling);
        _stops = new StopSet(options.StopIds);
        _maxNewTokens = options.MaxNewTokens;
        _ids = new List<int>(Math.Clamp(options.MaxNewTokens, 0, 4096)); // grows past that only for long answers
        _onToken = onToken;
        _prefillProgress = options.PrefillProgress;
        cache.Clear();
        Position = prompt.Length - 1;
        _start = Stopwatch.GetTimestamp();
    }

    /// <summary>Runs the next prompt chunk (<see cref="VanillaDecoder.PrefillPass"/>); after the last one, computes the logits.</summary>
    public void PrefillNext(ForwardState state)
    {
        _prefilled += VanillaDecoder.PrefillPass(_model, state, Cache, _prompt, _prefilled, null, _last);
        _prefillProgress?.Report(_prefilled);
        if (!Prefilled) return;
        _model.Head.Compute(_last, 1, Logits);
        _prefillEnd = Stopwatch.GetTimestamp();
    }

    /// <summary>
    /// Samples the next token from <paramref name="logits"/> and emits it. Returns false when the generation is complete
    /// (a stop id, or the token budget); otherwise the caller runs <see cref="LastToken"/> at <see cref="Position"/>
    /// through the model and calls again with the new logits.
    /// </summary>
    public bool Advance(ReadOnlySpan<float> logits)
    {
        if (_maxNewTokens <= 0) return Finish();
        int next = _sampler.Sample(logits, _probs);
        _ids.Add(next);
        _onToken?.Invoke(next);
        LastToken = next;
        Position++;
        if (_stops.Contains(next)) { _stopped = true; return Finish(); }
        return _ids.Count < _maxNewTokens || Finish();
    }

    private bool Finish()
    {
        _end = Stopwatch.GetTimestamp();
        return false;
    }

    /// <summary>What was generated so far (everything, once <see cref="Advance"/> returned false).</summary>
    public GenerationResult Result()
    {
        long end = _end != 0 ? _end : Stopwatch.GetTimestamp(), prefillEnd = _prefillEnd != 0 ? _prefillEnd : end;
        double prefill = Stopwatch.GetElapsedTime(_start, prefillEnd).TotalSeconds, decode = Stopwatch.GetElapsedTime(prefillEnd, end).TotalSeconds;
        var accept = new int[Math.Max(0, _ids.Count - 1)]; // the first token came from the prefill pass
        Array.Fill(accept, 1);
        return new GenerationResult
        {
            Ids = _ids.ToArray(), AcceptLengths = accept, PrefillSeconds = prefill, DecodeSeconds = decode,
            Time = new TimeSplit { Verify = decode }, StoppedByStopId = _stopped,
        };
    }
}
