namespace FrSpec.Generation;

/// <summary>
/// A decoding method over one target model: vanilla, EAGLE-2, FR-Spec. One call generates one answer from a tokenized
/// prompt; the decoder resets its caches at the start of each call. A decoder holds per-sequence state: one call at a
/// time per instance (sessions detect and reject a second concurrent call).
/// </summary>
public interface IDecoder
{
    /// <summary>Short method name for reports, e.g. "vanilla", "eagle2", "fr-32768".</summary>
    string Name { get; }

    /// <param name="prompt">Prompt ids (chat template already applied).</param>
    /// <param name="options">Budget, sampling and stop ids.</param>
    /// <param name="onToken">Called for every emitted id, in order, as soon as it is final (for streaming).</param>
    /// <param name="cancel">Checked between decoding steps; cancellation throws <see cref="OperationCanceledException"/>.</param>
    GenerationResult Generate(ReadOnlySpan<int> prompt, GenerationOptions options, Action<int>? onToken = null, CancellationToken cancel = default);
}
