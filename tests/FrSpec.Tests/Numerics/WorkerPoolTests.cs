using FrSpec.Numerics;

namespace FrSpec.Tests.Numerics;

public class WorkerPoolTests
{
    private sealed class Job(Action<int, int> body) : IRangeJob
    {
        public void Execute(int start, int end) => body(start, end);
    }

    [Fact]
    public void A_worker_exception_reaches_the_caller_unwrapped_and_the_pool_keeps_working()
    {
        var pool = new WorkerPool(2);
        var e = Assert.Throws<FrSpecException>(() => pool.For(64, new Job((s, _) => { if (s >= 32) throw new FrSpecException("bad chunk"); })));
        Assert.Equal("bad chunk", e.Message);
        int sum = 0;
        pool.For(100, new Job((s, end) => Interlocked.Add(ref sum, end - s)));
        Assert.Equal(100, sum);
    }

    [Fact]
    public void A_nested_region_runs_inline_and_covers_every_index()
    {
        var pool = new WorkerPool(2);
        var hits = new int[16 * 16];
        pool.For(16, new Job((s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                int row = i;
                pool.For(16, new Job((s2, e2) => { for (int j = s2; j < e2; j++) Interlocked.Increment(ref hits[row * 16 + j]); }));
            }
        }));
        Assert.All(hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void Concurrent_callers_on_one_pool_each_get_complete_results()
    {
        var pool = new WorkerPool(2);
        var results = new long[4];
        Parallel.For(0, 4, c =>
        {
            for (int round = 0; round < 50; round++)
            {
                long sum = 0;
                pool.For(1000, new Job((s, e) => { long local = 0; for (int i = s; i < e; i++) local += i; Interlocked.Add(ref sum, local); }));
                Assert.Equal(999L * 1000 / 2, sum);
                results[c]++;
            }
        });
        Assert.All(results, r => Assert.Equal(50, r));
    }

    [Theory]
    [InlineData(100, 1, WorkerPool.DefaultChunksPerThread, 13)] // the default: 8 chunks for 2 threads, of 13 indices (the last 9)
    [InlineData(100, 1, 100, 1)] // compute-bound callers: one index per chunk
    [InlineData(100, 10, 100, 10)] // the minimum chunk still holds
    [InlineData(7, 1, 3, 2)] // 6 chunks at most: 2 indices each (the last 1)
    public void ChunksPerThreadBoundsTheChunksAndEveryIndexRunsOnce(int total, int minChunk, int chunksPerThread, int largest)
    {
        var pool = new WorkerPool(2);
        var hits = new int[total];
        int widest = 0;
        pool.For(total, new Job((s, e) =>
        {
            for (int i = s; i < e; i++) Interlocked.Increment(ref hits[i]);
            int w = e - s, seen;
            while ((seen = Volatile.Read(ref widest)) < w && Interlocked.CompareExchange(ref widest, w, seen) != seen) { }
        }), minChunk, chunksPerThread);
        Assert.All(hits, h => Assert.Equal(1, h));
        Assert.Equal(largest, widest);
    }

    [Theory]
    [InlineData(1000, 16)]
    [InlineData(1024, 16)]
    [InlineData(100, 30)]
    [InlineData(17, 1)]
    public void TaperingChunksAreAQuarterOfWhatIsLeftAtLeastTheMinimumAndCoverEveryIndexOnce(int total, int minChunk)
    {
        var pool = new WorkerPool(2); // 2 threads: each chunk is 1/(2·2) of what is left
        var hits = new int[total];
        var chunks = new System.Collections.Concurrent.ConcurrentBag<(int Start, int End)>();
        pool.ForTapering(total, new Job((s, e) =>
        {
            for (int i = s; i < e; i++) Interlocked.Increment(ref hits[i]);
            chunks.Add((s, e));
        }), minChunk);
        Assert.All(hits, h => Assert.Equal(1, h));
        var ordered = chunks.OrderBy(c => c.Start).ToArray();
        Assert.True(ordered.Length > 1);
        int next = 0;
        foreach (var (start, end) in ordered)
        {
            Assert.Equal(next, start);
            Assert.Equal(Math.Min(total - start, Math.Max(minChunk, (total - start) / 4)), end - start);
            next = end;
        }
        Assert.Equal(total, next);
        Assert.True(ordered[0].End - ordered[0].Start >= ordered[^1].End - ordered[^1].Start); // long runs first
    }

    [Fact]
    public void ATaperingRegionNoLongerThanItsMinimumChunkRunsInlineOnTheCaller()
    {
        var pool = new WorkerPool(2);
        int caller = Environment.CurrentManagedThreadId, seen = -1, calls = 0;
        pool.ForTapering(16, new Job((s, e) => { seen = Environment.CurrentManagedThreadId; calls++; Assert.Equal((0, 16), (s, e)); }), 16);
        Assert.Equal((caller, 1), (seen, calls));
        pool.ForTapering(0, new Job((_, _) => calls++), 4);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void ACallerThatSleepsUntilASlowChunkEndsReturnsOnlyAfterIt()
    {
        // slow regions (the caller polls, then sleeps on the end event) alternate with fast ones (where the worker may
        // finish last and leave the event set for the next region): every region must still wait for all its chunks
        var pool = new WorkerPool(2);
        for (int round = 0; round < 12; round++)
        {
            int done = 0;
            bool slow = round % 2 == 0;
            pool.For(2, new Job((s, e) =>
            {
                if (slow && s == 1) Thread.Sleep(30);
                Interlocked.Add(ref done, e - s);
            }), 1, 1);
            Assert.Equal(2, Volatile.Read(ref done));
        }
    }
}
