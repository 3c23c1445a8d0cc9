using System.Text;

namespace FrSpec.Text;

/// <summary>
/// Incremental detokenization for streaming generation: <see cref="Push"/> returns the text that the new token
/// completes. A UTF-8 sequence split across tokens (emoji, CJK in byte-level BPE, &lt;0xNN&gt; byte fallback) is held
/// back until complete, so the output never contains a broken character; bytes that can never become valid are
/// emitted as U+FFFD at once (nothing is dropped). The concatenation of all pushes and <see cref="Flush"/> equals the
/// lossy UTF-8 decoding of <see cref="ITokenizer.DecodeToBytes"/> of all ids. Not thread-safe (one per stream).
/// </summary>
public sealed class StreamingDecoder
{
    private readonly ITokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly List<byte> _pending = new();
    private bool _started;

    /// <param name="tokenizer">the model's tokenizer</param>
    /// <param name="skipSpecialTokens">drop special tokens (BOS, EOS, chat control tokens) from the text</param>
    public StreamingDecoder(ITokenizer tokenizer, bool skipSpecialTokens = false)
    {
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one generated id; returns the newly completed text (possibly empty).</summary>
    public string Push(int id)
    {
        if (_tokenizer.IdToToken(id) is null) return "";   // unknown ids decode to nothing, as in HF
        if (_skipSpecialTokens && _tokenizer.IsSpecial(id)) return "";
        // The first token is decoded as text start (SentencePiece strips its leading space), later ones as continuations.
        _pending.AddRange(_started ? _tokenizer.ContinuationBytes(id) : _tokenizer.DecodeToBytes(new[] { id }));
        _started = true;
        int complete = _pending.Count - IncompleteTail();
        return Take(complete);
    }

    /// <summary>Returns whatever is still held back (an unfinished UTF-8 sequence becomes U+FFFD) and resets the text start.</summary>
    public string Flush()
    {
        var text = Take(_pending.Count);
        _started = false;
        return text;
    }

    private string Take(int count)
    {
        if (count == 0) return "";
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending)[..count];
        var text = Encoding.UTF8.GetString(span);
        _pending.RemoveRange(0, count);
        return text;
    }

    /// <summary>Length of a trailing, still completable UTF-8 sequence prefix (0 if the buffer ends cleanly).</summary>
    private int IncompleteTail()
    {
        int n = _pending.Count;
        for (int back = 1; back <= 3 && back <= n; back++)
        {
            byte b = _pending[n - back];
            if ((b & 0xC0) == 0x80) continue;   // continuation byte: look further back for the lead
            int need = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xC2 && b <= 0xDF ? 2 : 0;
            if (need <= back) return 0;   // not a lead, or the sequence is complete
            // Hold back only a valid prefix: the second byte has a narrower range after E0, ED, F0, F4.
            if (back >= 2)
            {
                byte second = _pending[n - back + 1];
                var (lo, hi) = b switch { 0xE0 => (0xA0, 0xBF), 0xED => (0x80, 0x9F), 0xF0 => (0x90, 0xBF), 0xF4 => (0x80, 0x8F), _ => (0x80, 0xBF) };
                if (second < lo || second > hi) return 0;
            }
            return back;
        }
        return 0;
    }
}
