namespace FrSpec.Numerics;

/// <summary>A unit of parallel work over an index range; implementations are reused, so a call allocates nothing.</summary>
public interface IRangeJob
{
    void Execute(int start, int end);
}

/// <summary>
/// A fixed pool of worker threads that split an index range with the calling thread.
/// Why not Parallel.For: the decode loop issues ~100 parallel regions per token and must not allocate;
/// workers spin briefly before sleeping, so a region starts in microseconds.
/// </summary>
public sealed class WorkerPool
{
    /// <summary>The pool of <see cref="Compute.Default"/> (all logical processors); tools that take no options use it.</summary>
    public static WorkerPool Shared => Compute.Default.Pool;

    // Set while a thread executes chunks of a region: a nested For on it runs inline, because the region's state
    // (job, counters) belongs to the outer call and the gate's Monitor would let the same thread re-enter.
    [ThreadStatic] private static bool t_inRegion;

    private readonly Thread[] _threads;
    private readonly SemaphoreSlim _wake;
    private int _pending; // threads of the current region that have not finished it
    private readonly ManualResetEventSlim _finished = new(false); // set by the worker that finishes a region last
    private IRangeJob? _job;
    private Exception? _error;
    private int _total, _chunk, _next;
    private bool _taper; // the region's chunks shrink as the range runs out (ForTapering); _chunk is then their minimum
    private volatile int _generation;
    private readonly object _gate = new();

    public int Threads { get; }

    public WorkerPool(int threads)
    {
        Threads = threads;
        _wake = new SemaphoreSlim(0);
        _threads = new Thread[threads - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"frspec-worker-{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>Chunks per thread of a region unless the caller asks for more: few enough that a bandwidth-bound job
    /// reads long sequential runs, enough that a thread which starts late still gets a fair share.</summary>
    public const int DefaultChunksPerThread = 4;

    /// <summary>Polls (SpinWait steps, most of them yields) before a caller sleeps until the region's end.</summary>
    private const int EndPolls = 200;

    /// <summary>Runs job over [0,total) in chunks of at least minChunk indices, at most
    /// <paramref name="chunksPerThread"/> per thread, taken in order by whichever thread is free; returns when all are
    /// done. Compute-bound jobs pass more chunks per thread: at the end of a region a thread waits for the other's last
    /// chunk, so a chunk is what a late start or a slower core can cost.</summary>
    public void For(int total, IRangeJob job, int minChunk = 1, int chunksPerThread = DefaultChunksPerThread)
    {
        if (total <= 0) return;
        int chunks = (int)Math.Min(Math.Max(1, total / Math.Max(1, minChunk)), (long)Threads * Math.Max(1, chunksPerThread));
        Run(total, job, (total + chunks - 1) / chunks, taper: false);
    }

    /// <summary>
    /// Runs job over [0,total) in chunks that shrink as the range runs out: each thread that comes for work takes a
    /// 1/(2·threads) share of what is left, at least <paramref name="minChunk"/> indices (the last chunk may be shorter).
    /// For bandwidth-bound regions (decode's products): the first chunks are long sequential runs, and the region ends on
    /// short ones, so a thread that fell behind (a late start, a core shared with another tenant) holds the others up by
    /// at most about one minimum chunk instead of one of <see cref="DefaultChunksPerThread"/> equal shares.
    /// </summary>
    public void ForTapering(int total, IRangeJob job, int minChunk)
    {
        if (total <= 0) return;
        Run(total, job, Math.Max(1, minChunk), taper: true);
    }

    private void Run(int total, IRangeJob job, int chunk, bool taper)
    {
        int workers = _threads.Length;
        if (workers == 0 || chunk >= total || t_inRegion)
        {
            job.Execute(0, total);
            return;
        }
        lock (_gate) // one region at a time: callers on other threads wait for the pool, so threads are never oversubscribed
        {
            _job = job;
            _total = total;
            _chunk = chunk;
            _taper = taper;
            _next = 0;
            Volatile.Write(ref _pending, workers + 1);
            _generation++;
            _error = null; // before the workers wake: an error one of them records must not be cleared
            _wake.Release(workers);
            try { RunChunks(); }
            catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
            if (Interlocked.Decrement(ref _pending) != 0)
            {
                // The workers are computing their last chunks: poll a while (yielding the core to anything runnable)
                // before sleeping, since a blocked caller is woken through the scheduler, tens of µs on a VM, and a pass
                // has ~200 regions; a long wait (an oversubscribed machine) sleeps rather than burn a core.
                SpinWait sw = default;
                while (Volatile.Read(ref _pending) != 0)
                {
                    if (sw.Count < EndPolls) { sw.SpinOnce(-1); continue; }
                    // a Set may be stale (a worker that finished the previous region last): clear it, then look again
                    // after a full fence, so that a Set after the clear is never lost
                    _finished.Reset();
                    Interlocked.MemoryBarrier();
                    if (Volatile.Read(ref _pending) == 0) break;
                    _finished.Wait();
                }
            }
            _job = null;
            // A worker's exception is rethrown on the caller as itself (never wrapped), with its original stack.
            if (_error != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(_error).Throw();
        }
    }

    private void RunChunks()
    {
        var job = _job!;
        t_inRegion = true;
        try
        {
            int total = _total, chunk = _chunk, share = 2 * Threads;
            bool taper = _taper;
            while (true)
            {
                int start, end;
                if (!taper)
                {
                    start = Interlocked.Add(ref _next, chunk) - chunk;
                    if (start >= total) break;
                    end = Math.Min(total, start + chunk);
                }
                else
                {
                    start = Volatile.Read(ref _next);
                    if (start >= total) break;
                    end = start + Math.Min(total - start, Math.Max(chunk, (total - start) / share));
                    if (Interlocked.CompareExchange(ref _next, end, start) != start) continue; // another thread took it first
                }
                job.Execute(start, end);
            }
        }
        finally { t_inRegion = false; }
    }

    private void WorkerLoop()
    {
        while (true)
        {
            if (!_wake.Wait(0))
            {
                SpinWait sw = default;
                bool got = false;
                for (int i = 0; i < 200 && !got; i++) { sw.SpinOnce(-1); got = _wake.Wait(0); }
                if (!got) _wake.Wait();
            }
            try { RunChunks(); }
            catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
            finally { if (Interlocked.Decrement(ref _pending) == 0) _finished.Set(); }
        }
    }
}
