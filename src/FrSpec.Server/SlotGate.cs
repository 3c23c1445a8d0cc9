namespace FrSpec.Server;

/// <summary>
/// Admission control: at most <c>slots</c> generations run, at most <c>queue</c> requests wait for one, and a request
/// beyond that is refused at once (the server answers 503 with Retry-After). A waiting request whose client goes away
/// leaves the queue; a finished or cancelled generation frees its slot when its lease is disposed.
/// </summary>
internal sealed class SlotGate
{
    private readonly SemaphoreSlim _slots;
    private readonly int _queue;
    private int _waiting, _running;

    public SlotGate(int slots, int queue)
    {
        _slots = new SemaphoreSlim(slots, slots);
        _queue = queue;
        Slots = slots;
    }

    public int Slots { get; }
    public int Running => Volatile.Read(ref _running);
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>A lease on a slot, or null when every slot is taken and the queue is full.</summary>
    public async Task<Lease?> EnterAsync(CancellationToken cancel)
    {
        if (!_slots.Wait(0))
        {
            if (Interlocked.Increment(ref _waiting) > _queue)
            {
                Interlocked.Decrement(ref _waiting);
                return null;
            }
            try { await _slots.WaitAsync(cancel).ConfigureAwait(false); }
            finally { Interlocked.Decrement(ref _waiting); }
        }
        Interlocked.Increment(ref _running);
        return new Lease(this);
    }

    internal sealed class Lease(SlotGate gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0) return;
            Interlocked.Decrement(ref gate._running);
            gate._slots.Release();
        }
    }
}
