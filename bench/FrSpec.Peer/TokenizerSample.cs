namespace FrSpec.Peer;

/// <summary>Text that exercises a byte-level BPE pre-tokenizer: contractions, digits, punctuation runs, newlines, non-ASCII.</summary>
internal static class TokenizerSample
{
    public const string Text =
        "The quick brown fox doesn't jump over 12345 lazy dogs; it's 3.14159 times faster!\n\n" +
        "    def f(x):\n        return x**2  # square\n" +
        "Ünïcödé: 日本語のテキスト, emoji 🦙🚀, and   multiple   spaces.\r\nI'll we've they'RE";
}
