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
    public static WorkerPool Shared { get; } = new(Math.Max(1, EnvThreads() ?? Environment.ProcessorCount));

    private readonly Thread[] _threads;
    private readonly SemaphoreSlim _wake;
    private readonly CountdownEvent _done;
    private IRangeJob? _job;
    private int _total, _chunk, _next;
    private volatile int _generation;
    private readonly object _gate = new();

    public int Threads { get; }

    public WorkerPool(int threads)
    {
        Threads = threads;
        _wake = new SemaphoreSlim(0);
        _done = new CountdownEvent(1);
        _threads = new Thread[threads - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"frspec-worker-{i}" };
            _threads[i].Start();
        }
    }

    private static int? EnvThreads() => int.TryParse(Environment.GetEnvironmentVariable("FRSPEC_THREADS"), out var t) && t > 0 ? t : null;

    /// <summary>Runs job over [0,total) in chunks of at least minChunk indices; returns when all are done.</summary>
    public void For(int total, IRangeJob job, int minChunk = 1)
    {
        if (total <= 0) return;
        int workers = _threads.Length;
        int chunks = Math.Min(Math.Max(1, total / Math.Max(1, minChunk)), Threads * 4);
        if (workers == 0 || chunks <= 1)
        {
            job.Execute(0, total);
            return;
        }
        lock (_gate) // one region at a time; nested calls run serially
        {
            _job = job;
            _total = total;
            _chunk = (total + chunks - 1) / chunks;
            _next = 0;
            _done.Reset(workers + 1);
            _generation++;
            _wake.Release(workers);
            RunChunks();
            _done.Signal();
            _done.Wait();
            _job = null;
        }
    }

    private void RunChunks()
    {
        var job = _job!;
        while (true)
        {
            int start = Interlocked.Add(ref _next, _chunk) - _chunk;
            if (start >= _total) break;
            job.Execute(start, Math.Min(_total, start + _chunk));
        }
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
            finally { _done.Signal(); }
        }
    }
}
