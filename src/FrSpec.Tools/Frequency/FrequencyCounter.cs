using System.Collections.Concurrent;
using System.Diagnostics;
using FrSpec.Text;

namespace FrSpec.Frequency;

/// <summary>Settings of a counting run.</summary>
public sealed record FrequencyCountOptions
{
    /// <summary>Worker threads that tokenize and count (default: all cores).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Stop after this many documents (exact: the first N documents in corpus order).</summary>
    public long? MaxDocuments { get; init; }

    /// <summary>Stop reading once this many tokens were counted (approximate: documents in flight are finished).</summary>
    public long? MaxTokens { get; init; }

    /// <summary>Encode with add_special_tokens=True, as FR-Spec's fr.py does (BOS counted for Llama-3).</summary>
    public bool AddSpecialTokens { get; init; } = true;

    /// <summary>False: only tokenize (no counting), to measure raw tokenizer throughput on the same pipeline.</summary>
    public bool Count { get; init; } = true;
}

/// <summary>What a counting run produced, with its timings.</summary>
public sealed record FrequencyCountResult(
    long[] Counts, long Documents, long Tokens, long TextChars, TimeSpan Wall, int Threads,
    TimeSpan EncodeTime, TimeSpan CountTime)
{
    /// <summary>Tokens per second of the whole pipeline (wall clock).</summary>
    public double TokensPerSecond => Tokens / Math.Max(Wall.TotalSeconds, 1e-9);
}

/// <summary>
/// Counts token frequencies on all cores: one producer thread reads and decompresses documents into batches,
/// workers tokenize and count into per-thread int arrays (flushed into the shared long totals before an int
/// could overflow), merged at the end. Progress counters can be polled from another thread.
/// </summary>
public sealed class FrequencyCounter
{
    private const int BatchChars = 256 * 1024;
    private const int BatchDocs = 256;
    private const int FlushThreshold = 1 << 30; // local int counts are merged before any could overflow

    private readonly ITokenizer _tokenizer;
    private readonly FrequencyCountOptions _options;
    private long _documents, _tokens, _chars;

    public FrequencyCounter(ITokenizer tokenizer, FrequencyCountOptions? options = null)
    {
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _options = options ?? new FrequencyCountOptions();
        if (_options.Threads < 1) throw new FrSpecException($"threads must be ≥ 1 (got {_options.Threads})");
    }

    public long DocumentsDone => Interlocked.Read(ref _documents);
    public long TokensDone => Interlocked.Read(ref _tokens);

    /// <summary>UTF-16 characters of text processed so far.</summary>
    public long CharsDone => Interlocked.Read(ref _chars);

    /// <summary>Runs the pipeline over <paramref name="documents"/> (enumerated on one producer thread).</summary>
    public FrequencyCountResult Run(IEnumerable<string> documents, CancellationToken cancel = default)
    {
        int vocab = _tokenizer.VocabSize;
        int threads = _options.Threads;
        var total = new long[vocab];
        using var queue = new BlockingCollection<string[]>(boundedCapacity: threads * 4);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        Exception? failure = null;
        long encodeTicks = 0, countTicks = 0;
        var sw = Stopwatch.StartNew();

        var producer = new Thread(() =>
        {
            try
            {
                var batch = new List<string>(BatchDocs);
                long chars = 0, docs = 0;
                foreach (var doc in documents)
                {
                    if (stop.IsCancellationRequested) break;
                    if (_options.MaxTokens is long mt && TokensDone >= mt) break;
                    batch.Add(doc);
                    chars += doc.Length;
                    docs++;
                    bool last = _options.MaxDocuments is long md && docs >= md;
                    if (batch.Count >= BatchDocs || chars >= BatchChars || last)
                    {
                        queue.Add(batch.ToArray(), stop.Token);
                        batch.Clear();
                        chars = 0;
                    }
                    if (last) break;
                }
                if (batch.Count > 0 && !stop.IsCancellationRequested) queue.Add(batch.ToArray(), stop.Token);
            }
            catch (OperationCanceledException) { }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, e, null);
                stop.Cancel();
            }
            finally { queue.CompleteAdding(); }
        }) { IsBackground = true, Name = "frspec-freq-reader" };

        var workers = new Thread[threads];
        for (int w = 0; w < threads; w++)
        {
            workers[w] = new Thread(() =>
            {
                var local = _options.Count ? new int[vocab] : null;
                long sinceFlush = 0, myEncode = 0, myCount = 0;
                try
                {
                    foreach (var batch in queue.GetConsumingEnumerable(stop.Token))
                    {
                        long batchTokens = 0, batchChars = 0;
                        foreach (var doc in batch)
                        {
                            long t0 = Stopwatch.GetTimestamp();
                            int[] ids = _tokenizer.Encode(doc, _options.AddSpecialTokens);
                            long t1 = Stopwatch.GetTimestamp();
                            if (local != null)
                            {
                                foreach (int id in ids)
                                {
                                    if ((uint)id >= (uint)vocab)
                                        throw new FrSpecException($"tokenizer produced id {id}, outside its vocabulary of {vocab}");
                                    local[id]++;
                                }
                            }
                            myCount += Stopwatch.GetTimestamp() - t1;
                            myEncode += t1 - t0;
                            batchTokens += ids.Length;
                            batchChars += doc.Length;
                        }
                        sinceFlush += batchTokens;
                        Interlocked.Add(ref _tokens, batchTokens);
                        Interlocked.Add(ref _chars, batchChars);
                        Interlocked.Add(ref _documents, batch.Length);
                        if (local != null && sinceFlush >= FlushThreshold)
                        {
                            Merge(local, total);
                            sinceFlush = 0;
                        }
                    }
                    if (local != null) Merge(local, total);
                }
                catch (OperationCanceledException) { }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                    stop.Cancel();
                }
                finally
                {
                    Interlocked.Add(ref encodeTicks, myEncode);
                    Interlocked.Add(ref countTicks, myCount);
                }
            }) { IsBackground = true, Name = $"frspec-freq-worker-{w}" };
        }
        producer.Start();
        foreach (var t in workers) t.Start();
        producer.Join();
        foreach (var t in workers) t.Join();
        sw.Stop();
        if (failure != null)
        {
            if (failure is FrSpecException) throw failure;
            throw new FrSpecException($"counting failed: {failure.Message}", failure);
        }
        cancel.ThrowIfCancellationRequested();
        return new FrequencyCountResult(total, DocumentsDone, TokensDone, CharsDone, sw.Elapsed, threads,
            TimeSpan.FromSeconds(encodeTicks / (double)Stopwatch.Frequency), TimeSpan.FromSeconds(countTicks / (double)Stopwatch.Frequency));
    }

    private static void Merge(int[] local, long[] total)
    {
        lock (total)
        {
            for (int i = 0; i < local.Length; i++) total[i] += local[i];
        }
        Array.Clear(local);
    }
}
