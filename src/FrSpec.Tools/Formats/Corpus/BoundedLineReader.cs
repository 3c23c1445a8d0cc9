namespace FrSpec.Formats.Corpus;

/// <summary>
/// Reads lines like <see cref="TextReader.ReadLine"/> ("\n", "\r\n" and "\r" end a line) but refuses a line longer than
/// a limit instead of building it: a compressed corpus of a few kilobytes can decompress to gigabytes without a line
/// break, and ReadLine would try to hold all of it in one string.
/// </summary>
internal sealed class BoundedLineReader(TextReader reader, int maxChars)
{
    private readonly char[] _buffer = new char[1 << 16];
    private readonly System.Text.StringBuilder _line = new();
    private int _pos, _length;
    private bool _skipLineFeed;   // a "\r" ended the last line: a "\n" right after it belongs to it

    /// <summary>The next line without its line break, or null at the end; throws <see cref="LineTooLongException"/> beyond the limit.</summary>
    public string? ReadLine()
    {
        _line.Clear();
        bool any = false;
        while (true)
        {
            if (_pos == _length)
            {
                _length = reader.Read(_buffer, 0, _buffer.Length);
                _pos = 0;
                if (_length == 0) return any ? _line.ToString() : null;
            }
            if (_skipLineFeed)
            {
                _skipLineFeed = false;
                if (_buffer[_pos] == '\n') { _pos++; continue; }
            }
            any = true;
            var span = _buffer.AsSpan(_pos, _length - _pos);
            int end = span.IndexOfAny('\r', '\n');
            int take = end < 0 ? span.Length : end;
            if (_line.Length + take > maxChars) throw new LineTooLongException(maxChars);
            _line.Append(span[..take]);
            if (end < 0) { _pos = _length; continue; }
            _skipLineFeed = span[end] == '\r';
            _pos += end + 1;
            return _line.ToString();
        }
    }
}

/// <summary>A line longer than the reader's limit.</summary>
internal sealed class LineTooLongException(int limit) : Exception($"a line is longer than {limit:N0} characters")
{
    public int Limit { get; } = limit;
}
