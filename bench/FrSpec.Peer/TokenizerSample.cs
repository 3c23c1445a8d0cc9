namespace FrSpec.Peer;

/// <summary>Text that exercises a byte-level BPE pre-tokenizer: contractions, digits, punctuation runs, newlines, non-ASCII.</summary>
internal static class TokenizerSample
{
    public const string Text =
        "The quick brown fox doesn't jump over 12345 lazy dogs; it's 3.14159 times faster!\n\n" +
        "    def f(x):\n        return x**2  # square\n" +
        "Ünïcödé: 日本語のテキスト, emoji 🦙🚀, and   multiple   spaces.\r\nI'll we've they'RE";

    /// <summary>Plain English prose for the logit comparison: a real-text prompt (encoded by the model's tokenizer).</summary>
    public const string Prose =
        "The history of the printing press begins in the fifteenth century, when Johannes Gutenberg combined several " +
        "existing technologies into a single system. Movable metal type, oil-based ink and a screw press adapted from " +
        "wine making allowed a workshop to produce hundreds of identical pages in a day. Within fifty years, presses " +
        "were operating in more than two hundred European cities, and the number of books in circulation grew from " +
        "tens of thousands to millions. Scholars could compare the same text in different places, errors could be " +
        "corrected in later editions, and ideas travelled faster than ever before. Historians still debate how much " +
        "the press caused the changes that followed, but few doubt that it made them easier.";
}
