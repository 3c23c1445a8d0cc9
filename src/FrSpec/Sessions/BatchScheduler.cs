using FrSpec.Generation;
using FrSpec.Model;

namespace FrSpec.Sessions;

/// <summary>
/// Continuous batching of the streamed vanilla generations of one model. A single scheduler thread loops: it drops
/// cancelled sequences, prefills waiting sequences (at most one chunk of prompt tokens per step, so a long prompt
/// delays the others by one chunk, not by its whole length), and runs one decode step of every active sequence as the rows of a single batched
/// pass (<see cref="BatchedForward"/>). A decode step reads the weights once for all sequences instead of once each, so
/// throughput grows with the number of concurrent sequences; each sequence's tokens equal what it generates alone.
/// </summary>
internal sealed class BatchScheduler : IDisposable
{
    /// <summary>Sequences decoded per pass; more wait (after their prefill) until a row is free.</summary>
    public const int MaxBatch = 64;

    private readonly Transformer _model;
    private readonly BatchedForward _forward;
    private readonly object _gate = new();
    private readonly Queue<Entry> _incoming = new();
    private readonly List<Entry> _prefilling = new(), _active = new();
    private readonly KvCache[] _caches = new KvCache[MaxBatch];
    private readonly int[] _tokens = new int[MaxBatch], _positions = new int[MaxBatch];
    private float[] _logits = [];
    private Thread? _thread;
    private bool _disposed;

    /// <summary>A sequence, the scratch its prefill runs with, its cancellation and what to call when it ends.</summary>
    internal sealed record Entry(VanillaSequence Sequence, ForwardState PrefillState, CancellationToken Cancel, Action<GenerationResult?, Exception?> Done);

    public BatchScheduler(Transformer model)
    {
        _model = model;
        _forward = new BatchedForward(model);
    }

    /// <summary>Sequences in the scheduler (waiting, prefilling or decoding).</summary>
    public int Count
    {
        get { lock (_gate) return _incoming.Count + _prefilling.Count + _active.Count; }
    }

    public void Submit(Entry entry)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _incoming.Enqueue(entry);
            if (_thread == null)
            {
                _thread = new Thread(Loop) { IsBackground = true, Name = "frspec-batch" };
                _thread.Start();
            }
            Monitor.Pulse(_gate);
        }
    }

    private void Loop()
    {
        while (true)
        {
            lock (_gate)
            {
                while (_incoming.Count == 0 && _prefilling.Count == 0 && _active.Count == 0)
                {
                    if (_disposed) return;
                    Monitor.Wait(_gate);
                }
                while (_incoming.TryDequeue(out var e)) _prefilling.Add(e);
            }
            DropCancelled(_prefilling);
            DropCancelled(_active);
            // Prefill up to one chunk's worth of prompt tokens per step: several short prompts join at once, a long
            // one delays the running sequences by one chunk per step, never by its whole length.
            int budget = VanillaDecoder.PrefillChunk;
            while (budget > 0 && _prefilling.Count > 0 && _active.Count < MaxBatch)
            {
                var next = _prefilling[0];
                budget -= Math.Min(VanillaDecoder.PrefillChunk, next.Sequence.PromptRemaining);
                PrefillChunk(next);
                if (_prefilling.Count > 0 && ReferenceEquals(_prefilling[0], next)) break; // a long prompt: its next chunk waits for the next step
            }
            if (_active.Count > 0) DecodeStep();
        }
    }

    private static void DropCancelled(List<Entry> entries)
    {
        entries.RemoveAll(e =>
        {
            if (!e.Cancel.IsCancellationRequested) return false;
            e.Done(null, e.Sequence.Prefilled ? new GenerationCanceledException(e.Sequence.Result(), e.Cancel) : new OperationCanceledException(e.Cancel));
            return true;
        });
    }

    private void PrefillChunk(Entry e)
    {
        var seq = e.Sequence;
        try
        {
            seq.PrefillNext(e.PrefillState);
            if (!seq.Prefilled) return;
            _prefilling.Remove(e);
            if (seq.Advance(seq.Logits)) _active.Add(e);
            else e.Done(seq.Result(), null);
        }
        catch (Exception error)
        {
            _prefilling.Remove(e);
            e.Done(null, error);
        }
    }

    private void DecodeStep()
    {
        int n = _active.Count, vocab = _model.Config.VocabSize;
        if (_logits.Length < n * vocab) _logits = new float[Math.Min(MaxBatch, Math.Max(n, 2 * _logits.Length / vocab)) * vocab];
        for (int r = 0; r < n; r++)
        {
            var seq = _active[r].Sequence;
            _caches[r] = seq.Cache;
            _tokens[r] = seq.LastToken;
            _positions[r] = seq.Position;
        }
        try
        {
            var hidden = _forward.Step(_caches, _tokens.AsSpan(0, n), _positions.AsSpan(0, n));
            _model.Head.Compute(hidden, n, _logits);
        }
        catch (Exception error)
        {
            foreach (var e in _active) e.Done(null, error);
            _active.Clear();
            return;
        }
        int kept = 0;
        for (int r = 0; r < n; r++)
        {
            var e = _active[r];
            bool more;
            try { more = e.Sequence.Advance(_logits.AsSpan(r * vocab, vocab)); }
            catch (Exception error) { e.Done(null, error); continue; }
            if (more) _active[kept++] = e;
            else e.Done(e.Sequence.Result(), null);
        }
        _active.RemoveRange(kept, n - kept);
        Array.Clear(_caches, kept, n - kept);
    }

    /// <summary>Stops the thread once no sequence is left (the model waits for running generations before disposing this).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.PulseAll(_gate);
        }
    }
}
