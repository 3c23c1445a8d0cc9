using System.Text;

namespace FrSpec.Text;

/// <summary>
/// Turns the token ids of an assistant answer into what a chat API streams: text pieces (never half a UTF-8 character,
/// never the start of a stop sequence that may still complete), and, when tools were offered, tool calls. Text from
/// the start of a tool call on (a <c>&lt;tool_call&gt;</c> tag, or an answer that opens with a JSON object) is held
/// back and parsed at the end by <see cref="ToolCallParser"/>; if it is not a call after all it is released as text.
/// Not thread-safe (one per answer).
/// </summary>
public sealed class StreamingAnswer
{
    private readonly StreamingDecoder _decoder;
    private readonly StopSequenceFilter? _stops;
    private readonly bool _tools;
    private readonly StringBuilder _held = new();
    private StringBuilder? _call;
    private bool _emitted;

    /// <param name="tokenizer">the model's tokenizer (special tokens are left out of the text)</param>
    /// <param name="stopSequences">texts that end the answer (not included in it); null or empty for none</param>
    /// <param name="detectToolCalls">whether tools were offered, so the answer may be a tool call</param>
    public StreamingAnswer(ITokenizer tokenizer, IReadOnlyList<string>? stopSequences, bool detectToolCalls)
    {
        _decoder = new StreamingDecoder(tokenizer, skipSpecialTokens: true);
        _stops = stopSequences is { Count: > 0 } ? new StopSequenceFilter(stopSequences) : null;
        _tools = detectToolCalls;
    }

    /// <summary>True once a stop sequence appeared: the caller should stop generating.</summary>
    public bool Stopped => _stops?.Stopped ?? false;

    /// <summary>Adds one generated id; returns the text to stream now (possibly empty).</summary>
    public string Push(int id)
    {
        string text = _decoder.Push(id);
        return Route(_stops == null ? text : _stops.Push(text), final: false);
    }

    /// <summary>Ends the answer: the text still to stream, and the tool calls found (empty when none).</summary>
    public (string Text, IReadOnlyList<ChatToolCall> ToolCalls) Finish()
    {
        string rest = _decoder.Flush();
        if (_stops != null) rest = _stops.Push(rest) + _stops.Flush();
        string text = Route(rest, final: true);
        if (_call == null) return (text, []);
        var (content, calls) = ToolCallParser.Parse(_call.ToString());
        if (calls.Count == 0) return (text + _call, []);
        return (text + content, calls);
    }

    private string Route(string text, bool final)
    {
        if (_call != null)
        {
            _call.Append(text);
            return "";
        }
        if (!_tools) return Emitted(text);
        _held.Append(text);
        string held = _held.ToString();
        // An answer that opens with a JSON object may be a Llama-style call: keep all of it until the end.
        if (!_emitted && held.TrimStart().StartsWith('{'))
        {
            _call = new StringBuilder(held);
            _held.Clear();
            return "";
        }
        int open = held.IndexOf(ToolCallParser.OpenTag, StringComparison.Ordinal);
        if (open >= 0)
        {
            _call = new StringBuilder(held[open..]);
            _held.Clear();
            return Emitted(held[..open]);
        }
        if (final)
        {
            _held.Clear();
            return Emitted(held);
        }
        // Hold back leading whitespace (a JSON call may follow) and a possible start of the tag.
        int keep = !_emitted && string.IsNullOrWhiteSpace(held) ? held.Length : TagPrefixAtEnd(held);
        _held.Remove(0, held.Length - keep);
        return Emitted(held[..^keep]);
    }

    private string Emitted(string text)
    {
        if (text.Length > 0) _emitted = true;
        return text;
    }

    private static int TagPrefixAtEnd(string text)
    {
        string tag = ToolCallParser.OpenTag;
        for (int k = Math.Min(tag.Length - 1, text.Length); k > 0; k--)
            if (string.CompareOrdinal(text, text.Length - k, tag, 0, k) == 0) return k;
        return 0;
    }
}
