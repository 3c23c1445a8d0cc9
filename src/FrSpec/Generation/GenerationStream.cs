using System.Threading.Channels;

namespace FrSpec.Generation;

/// <summary>
/// A generation consumed as it is produced: enumerate it with <c>await foreach</c> to receive each token id as soon as
/// it is final. Decoding starts when enumeration starts and runs off the caller's thread; stopping early (break, or
/// cancelling the token given to the session or to <c>WithCancellation</c>) stops the decoder within one decoding step
/// and frees its session. After the enumeration ends, <see cref="Result"/> holds the ids and statistics (also after a
/// cancellation: what was generated until then). One enumeration per stream.
/// </summary>
public sealed class GenerationStream : IAsyncEnumerable<int>
{
    private readonly Channel<int> _tokens = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource<GenerationResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action<GenerationStream, CancellationToken> _start;
    private readonly CancellationToken _cancel;
    private int _started;

    /// <summary>The number of prompt tokens.</summary>
    public int PromptTokens { get; }

    /// <summary>The finished generation (or, after a cancellation, the part generated before it); null until then.</summary>
    public GenerationResult? Result { get; private set; }

    /// <summary>Completes with the result when decoding ends; faults with the error, or a <see cref="GenerationCanceledException"/>.</summary>
    public Task<GenerationResult> Completion => _done.Task;

    internal GenerationStream(int promptTokens, CancellationToken cancel, Action<GenerationStream, CancellationToken> start)
    {
        PromptTokens = promptTokens;
        _cancel = cancel;
        _start = start;
    }

    /// <summary>Called by the decoder for every token, on its thread.</summary>
    internal void Emit(int id) => _tokens.Writer.TryWrite(id);

    /// <summary>Called by the decoder once, after its session is free again.</summary>
    internal void Complete(GenerationResult result)
    {
        Result = result;
        _tokens.Writer.TryComplete();
        _done.TrySetResult(result);
    }

    /// <summary>Called by the decoder once when decoding failed or was cancelled, after its session is free again.</summary>
    internal void Fail(Exception error)
    {
        if (error is GenerationCanceledException canceled) Result = canceled.Partial;
        _tokens.Writer.TryComplete();
        _done.TrySetException(error);
    }

    public async IAsyncEnumerator<int> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException("a generation stream can be enumerated only once");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_cancel, cancellationToken);
        try { _start(this, stop.Token); }
        catch (Exception e)
        {
            Fail(e); // nothing started (e.g. the session is busy): Completion reports why
            throw;
        }
        bool ended = false;
        try
        {
            var reader = _tokens.Reader;
            // No token here: a cancellation reaches the decoder, which ends the channel within one step.
            // Cancelled: stop handing out tokens at once; the decoder ends within a step (what it made meanwhile stays unread).
            while (!stop.IsCancellationRequested && await reader.WaitToReadAsync().ConfigureAwait(false))
                while (!stop.IsCancellationRequested && reader.TryRead(out int id)) yield return id;
            ended = true;
            if (stop.IsCancellationRequested && reader.TryRead(out _))
            {
                await _done.Task.ConfigureAwait(false); // the decoder's cancellation (with its partial result), or its error
                throw new GenerationCanceledException(Result!, stop.Token); // it finished anyway, but its last tokens were not read
            }
            await _done.Task.ConfigureAwait(false); // rethrows the decoder's error or cancellation
        }
        finally
        {
            if (!ended)
            {
                // The consumer left early (break, exception): stop decoding and wait until the session is free.
                stop.Cancel();
                try { await _done.Task.ConfigureAwait(false); }
                catch (Exception) { } // the consumer's own exception (if any) is the one that propagates
            }
        }
    }
}
