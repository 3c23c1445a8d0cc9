namespace FrSpec.Model;

/// <summary>
/// What one caller's forward passes through a model write: activations, the causal-mask scratch and (for an EAGLE head)
/// the concatenated inputs. Loaded models (<see cref="Transformer"/>, <c>EagleHead</c>) are immutable and shared by
/// every session; each session owns its states, so sessions on different threads never touch each other's scratch.
/// One pass at a time per state: a second pass entering while one runs throws <see cref="InvalidOperationException"/>
/// instead of corrupting both.
/// </summary>
public sealed class ForwardState
{
    private readonly object _model;
    private int _busy;

    internal ForwardBuffers Buffers { get; }
    /// <summary>The causal mask of passes called without one (rebuilt in place for every pass).</summary>
    internal AttentionMask? Causal;
    /// <summary>EAGLE input rows [embedding(token) | feature], grown on demand.</summary>
    internal float[] Concat = [];

    /// <summary>
    /// Layer inputs a <see cref="Transformer"/> pass with this state keeps (EAGLE-3's target features), or null (the
    /// default: nothing is copied). Set it before the passes that need it.
    /// </summary>
    public LayerCapture? Capture { get; set; }

    internal ForwardState(object model, ForwardBuffers buffers)
    {
        _model = model;
        Buffers = buffers;
    }

    /// <summary>True when this state was created by <paramref name="model"/>.</summary>
    public bool IsFor(object model) => ReferenceEquals(model, _model);

    /// <summary>Marks the state busy for one pass of <paramref name="model"/>; dispose the scope when the pass ends.</summary>
    internal Scope Enter(object model)
    {
        if (!ReferenceEquals(model, _model)) throw new ArgumentException("this ForwardState was created by another model: create one with that model's CreateState()");
        if (Interlocked.Exchange(ref _busy, 1) != 0)
            throw new InvalidOperationException("a ForwardState is used by two forward passes at the same time: each thread (session) needs its own state");
        return new Scope(this);
    }

    internal readonly ref struct Scope(ForwardState state)
    {
        public void Dispose() => Volatile.Write(ref state._busy, 0);
    }
}
