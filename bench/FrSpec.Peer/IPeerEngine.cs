namespace FrSpec.Peer;

/// <summary>
/// What the benchmark asks of an engine: run tokens at consecutive positions after what is cached, with logits for
/// every token or only the last, and forget positions again. Both engines get the same calls in the same order.
/// </summary>
internal interface IPeerEngine : IDisposable
{
    string Name { get; }
    int VocabSize { get; }

    /// <summary>Empties the KV cache.</summary>
    void Clear();

    /// <summary>
    /// Appends <paramref name="tokens"/> at positions Length.. and computes logits: for all tokens into
    /// <paramref name="logits"/> [n, vocab] when <paramref name="allLogits"/>, else only the last token's [vocab].
    /// </summary>
    void Run(ReadOnlySpan<int> tokens, bool allLogits, Span<float> logits);

    /// <summary>Drops cached positions from <paramref name="length"/> on.</summary>
    void Truncate(int length);

    /// <summary>Positions cached.</summary>
    int Length { get; }
}
