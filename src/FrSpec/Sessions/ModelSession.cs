using FrSpec.Generation;
using FrSpec.Text;

namespace FrSpec.Sessions;

/// <summary>
/// One conversation (or user, or thread) on a shared <see cref="LanguageModel"/>: it owns the KV caches, scratch
/// buffers and drafter state of its decoding method and reads only immutable weights, so sessions run concurrently
/// with correct output. A session is single-threaded: a call while another call on the same session runs throws
/// <see cref="InvalidOperationException"/> and leaves the running one intact.
/// </summary>
public sealed class ModelSession : IDecoder, IDisposable
{
    private readonly IDecoder _decoder;
    private int _busy;
    private bool _disposed;

    internal ModelSession(LanguageModel model, DecodingMethod method, IDecoder decoder)
    {
        Model = model;
        Method = method;
        _decoder = decoder;
    }

    public LanguageModel Model { get; }
    public DecodingMethod Method { get; }

    /// <summary>"vanilla", "eagle2" or "fr-&lt;V'&gt;".</summary>
    public string Name => Method.Name;

    /// <summary>
    /// Generates from prompt ids. <paramref name="options"/> null means the model's generation_config.json defaults;
    /// stop ids null mean the model's <see cref="ModelVocabulary.StopTokens"/>. Cancellation is checked between decoding
    /// steps and throws <see cref="OperationCanceledException"/>. A prompt plus budget beyond the model's context, or
    /// invalid sampling values, throw <see cref="FrSpecException"/> before any work (<see cref="ContextWindow"/>).
    /// </summary>
    public GenerationResult Generate(ReadOnlySpan<int> prompt, GenerationOptions? options = null, Action<int>? onToken = null, CancellationToken cancel = default)
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
            throw new InvalidOperationException($"this {Name} session is already generating on another thread: a session runs one call at a time (create one session per thread or conversation)");
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var resolved = Resolve(options);
            resolved.Sampling.Validate();
            ContextWindow.Check(Model.Target.Config, Model.Directory, prompt.Length, resolved.MaxNewTokens);
            Model.BeginGeneration();
            try { return _decoder.Generate(prompt, resolved, onToken, cancel); }
            finally { Model.EndGeneration(); }
        }
        finally { Volatile.Write(ref _busy, 0); }
    }

    /// <summary>Generates from plain text, encoded as transformers does (with BOS where the tokenizer adds it).</summary>
    public GenerationResult Generate(string prompt, GenerationOptions? options = null, Action<int>? onToken = null, CancellationToken cancel = default) =>
        Generate(Model.Vocabulary.Encode(prompt), options, onToken, cancel);

    /// <summary>Generates the next assistant turn of a conversation rendered through the model's chat template.</summary>
    public GenerationResult GenerateChat(IReadOnlyList<ChatMessage> messages, GenerationOptions? options = null, Action<int>? onToken = null, CancellationToken cancel = default) =>
        Generate(Model.Vocabulary.EncodeChat(messages), options, onToken, cancel);

    GenerationResult IDecoder.Generate(ReadOnlySpan<int> prompt, GenerationOptions options, Action<int>? onToken, CancellationToken cancel) =>
        Generate(prompt, options, onToken, cancel);

    private GenerationOptions Resolve(GenerationOptions? options)
    {
        var vocabulary = Model.Vocabulary;
        options ??= new GenerationOptions
        {
            Sampling = vocabulary.GenerationConfig.Sampling,
            MaxNewTokens = vocabulary.GenerationConfig.MaxNewTokens ?? new GenerationOptions().MaxNewTokens,
        };
        return options.StopIds == null ? options with { StopIds = vocabulary.StopTokens } : options;
    }

    /// <summary>Ends the session: later calls throw <see cref="ObjectDisposedException"/>. The model stays loaded.</summary>
    public void Dispose() => _disposed = true;
}
