using System.Diagnostics;

namespace FrSpec.Cli.Support;

/// <summary>
/// "prefill 12,288/23,678 tokens (52%)" on one self-erasing stderr line while a long prompt is processed, for an
/// interactive terminal only (redirected stderr stays clean for scripts). Redrawn at most every 200 ms.
/// </summary>
internal sealed class PrefillProgress : IProgress<int>
{
    /// <summary>Prompts shorter than this prefill in moments: no line for them.</summary>
    public const int MinTokens = 2048;

    private readonly int _total;
    private readonly Stopwatch _since = Stopwatch.StartNew();
    private bool _drawn;

    private PrefillProgress(int total) => _total = total;

    /// <summary>A reporter for a prompt of <paramref name="tokens"/> tokens, or null when none should be shown.</summary>
    public static PrefillProgress? For(int tokens) =>
        tokens >= MinTokens && !Console.IsErrorRedirected ? new PrefillProgress(tokens) : null;

    public void Report(int done)
    {
        if (done >= _total) { Clear(); return; }
        if (_drawn && _since.ElapsedMilliseconds < 200) return;
        _since.Restart();
        Console.Error.Write($"\rprefill {done:N0}/{_total:N0} tokens ({100.0 * done / _total:F0}%)");
        _drawn = true;
    }

    /// <summary>Erases the line (also when generation fails halfway).</summary>
    public void Clear()
    {
        if (!_drawn) return;
        Console.Error.Write("\r\u001b[K");
        _drawn = false;
    }
}
