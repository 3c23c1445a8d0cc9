namespace FrSpec.Text;

/// <summary>An entry of tokenizer.json "added_tokens".</summary>
internal sealed record AddedToken(int Id, string Content, bool Special, bool LStrip, bool RStrip, bool SingleWord, bool Normalized);

/// <summary>
/// Finds added tokens in text, leftmost-longest and non-overlapping (as HF's aho-corasick split does), honouring
/// lstrip/rstrip (the match swallows neighbouring whitespace) and single_word.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly Dictionary<long, int> _next = new(PairKeyComparer.Instance);   // (node << 16 | char) -> node
    private readonly List<int> _terminal = [-1];             // node -> index into _tokens, or -1
    private readonly bool[] _startChar = new bool[65536];
    private readonly List<AddedToken> _tokens;

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        _tokens = tokens.Where(t => t.Content.Length > 0).ToList();
        for (int k = 0; k < _tokens.Count; k++)
        {
            int node = 0;
            foreach (char c in _tokens[k].Content)
            {
                long key = ((long)node << 16) | c;
                if (!_next.TryGetValue(key, out int child))
                {
                    child = _terminal.Count;
                    _terminal.Add(-1);
                    _next[key] = child;
                }
                node = child;
            }
            if (_terminal[node] < 0) _terminal[node] = k;
            _startChar[_tokens[k].Content[0]] = true;
        }
    }

    public bool IsEmpty => _tokens.Count == 0;

    /// <summary>Matches in <paramref name="text"/>: (start, end) of the span the token takes (with stripped spaces) and the token.</summary>
    public void Find(ReadOnlySpan<char> text, List<(int Start, int End, AddedToken Token)> into)
    {
        if (_tokens.Count == 0) return;
        int lastEnd = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (!_startChar[text[i]]) continue;
            int node = 0, best = -1, bestEnd = 0;
            for (int j = i; j < text.Length && _next.TryGetValue(((long)node << 16) | text[j], out node); j++)
                if (_terminal[node] >= 0) { best = _terminal[node]; bestEnd = j + 1; }
            if (best < 0) continue;
            var tok = _tokens[best];
            if (tok.SingleWord && (i > 0 && IsWordChar(text[i - 1]) || bestEnd < text.Length && IsWordChar(text[bestEnd])))
                continue;
            int start = i, end = bestEnd;
            if (tok.LStrip) while (start > lastEnd && char.IsWhiteSpace(text[start - 1])) start--;
            if (tok.RStrip) while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            into.Add((start, end, tok));
            lastEnd = end;
            i = end - 1;
        }
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
