using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Text;

namespace FrSpec.Chat;

/// <summary>
/// One answer as it is generated: enumerate it for the text pieces (UTF-8 complete, stop sequences and tool calls held
/// back; see <see cref="StreamingAnswer"/>); afterwards <see cref="End"/> says how it ended. A stop sequence ends
/// decoding within one step. The session is taken from the engine's pool when enumeration starts and returned when it
/// ends. One enumeration per stream.
/// </summary>
public sealed class AnswerStream : IAsyncEnumerable<string>
{
    private readonly ChatEngine _engine;
    private readonly int[] _prompt;
    private readonly AnswerOptions _options;
    private readonly CancellationToken _cancel;

    internal AnswerStream(ChatEngine engine, int[] prompt, AnswerOptions options, CancellationToken cancel)
    {
        _engine = engine; _prompt = prompt; _options = options; _cancel = cancel;
    }

    /// <summary>Number of prompt tokens.</summary>
    public int PromptTokens => _prompt.Length;

    /// <summary>How the answer ended; null until the enumeration has completed.</summary>
    public AnswerEnd? End { get; private set; }

    public async IAsyncEnumerator<string> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        var answer = new StreamingAnswer(_engine.Model.Vocabulary.Tokenizer!, _options.StopSequences, _options.ToolCalls);
        var session = _engine.Rent();
        try
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(_cancel, cancellationToken);
            var stream = session.GenerateStreamingAsync(_prompt, _options.Generation, cancel.Token);
            await using (var tokens = stream.GetAsyncEnumerator())
            {
                while (await tokens.MoveNextAsync().ConfigureAwait(false))
                {
                    string text = answer.Push(tokens.Current);
                    if (text.Length > 0) yield return text;
                    if (answer.Stopped) break; // leaving the loop stops decoding within one step
                }
            }
            var result = stream.Result ?? throw new InvalidOperationException("the generation ended without a result");
            var (tail, calls) = answer.Finish();
            if (tail.Length > 0) yield return tail;
            var reason = calls.Count > 0 ? FinishReason.ToolCalls
                : answer.Stopped || result.StoppedByStopId ? FinishReason.Stop
                : FinishReason.Length;
            End = new AnswerEnd(reason, calls, result);
        }
        finally { _engine.Return(session); }
    }
}
