using System.Text;

namespace FrSpec.Text;

/// <summary>
/// Watches streamed text for stop sequences (OpenAI's <c>stop</c>, ChatOptions.StopSequences) that may be split across
/// tokens: text that could still be the start of a stop sequence is held back until it is decided. When a stop
/// sequence appears, the text before it is released, the stop sequence itself never is, and <see cref="Stopped"/>
/// turns true (everything pushed afterwards is dropped). Not thread-safe (one per stream).
/// </summary>
public sealed class StopSequenceFilter
{
    /// <summary>Most stop sequences a filter takes (OpenAI allows 4).</summary>
    public const int MaxSequences = 16;

    /// <summary>Longest stop sequence in characters.</summary>
    public const int MaxLength = 512;

    private readonly string[] _stops;
    private readonly StringBuilder _held = new();

    /// <summary>The stop sequence that ended the text, or null.</summary>
    public string? Matched { get; private set; }

    public bool Stopped => Matched != null;

    public StopSequenceFilter(IEnumerable<string> stopSequences)
    {
        ArgumentNullException.ThrowIfNull(stopSequences);
        _stops = [.. stopSequences];
        if (_stops.Length > MaxSequences) throw new FrSpecException($"at most {MaxSequences} stop sequences are supported, got {_stops.Length}");
        foreach (var s in _stops)
        {
            if (string.IsNullOrEmpty(s)) throw new FrSpecException("a stop sequence must not be empty");
            if (s.Length > MaxLength) throw new FrSpecException($"a stop sequence is {s.Length} characters long; the limit is {MaxLength}");
        }
    }

    /// <summary>Adds generated text; returns the text that is now final (possibly empty).</summary>
    public string Push(string text)
    {
        if (Stopped || text.Length == 0) return "";
        _held.Append(text); // what is held is shorter than the longest stop sequence
        string held = _held.ToString();
        int first = -1;
        foreach (var stop in _stops)
        {
            int at = held.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) { first = at; Matched = stop; }
        }
        if (first >= 0)
        {
            _held.Clear();
            return held[..first];
        }
        int keep = LongestStopPrefixAtEnd(held);
        _held.Remove(0, held.Length - keep);
        return held[..^keep];
    }

    /// <summary>Releases what is held back (the text ended without completing a stop sequence).</summary>
    public string Flush()
    {
        string rest = _held.ToString();
        _held.Clear();
        return Stopped ? "" : rest;
    }

    /// <summary>Length of the longest suffix of <paramref name="text"/> that is a proper prefix of some stop sequence.</summary>
    private int LongestStopPrefixAtEnd(string text)
    {
        int best = 0;
        foreach (var stop in _stops)
            for (int k = Math.Min(stop.Length - 1, text.Length); k > best; k--)
                if (string.CompareOrdinal(text, text.Length - k, stop, 0, k) == 0) { best = k; break; }
        return best;
    }
}
