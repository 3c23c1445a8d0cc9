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

    /// <summary>
    /// Generates from prompt ids as a stream: <c>await foreach (int id in session.GenerateStreamingAsync(ids))</c>.
    /// Decoding runs off the caller's thread and starts when enumeration starts; it holds this session until the stream
    /// ends. Vanilla sessions of one model that stream at the same time are decoded together, one batched pass per step
    /// (continuous batching), with exactly the tokens each produces alone; speculative sessions decode on a thread of
    /// their own. Cancellation (of <paramref name="cancel"/>, of the enumeration, or leaving the loop early) stops
    /// decoding within one step. Options as in <see cref="Generate(ReadOnlySpan{int}, GenerationOptions?, Action{int}?, CancellationToken)"/>.
    /// </summary>
    public GenerationStream GenerateStreamingAsync(IReadOnlyList<int> prompt, GenerationOptions? options = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        int[] ids = [.. prompt];
        var resolved = Resolve(options);
        return new GenerationStream(ids.Length, cancel, (stream, token) => Start(stream, ids, resolved, token));
    }

    /// <summary>Streams the generation from plain text, encoded as <see cref="Generate(string, GenerationOptions?, Action{int}?, CancellationToken)"/> does.</summary>
    public GenerationStream GenerateStreamingAsync(string prompt, GenerationOptions? options = null, CancellationToken cancel = default) =>
        GenerateStreamingAsync(Model.Vocabulary.Encode(prompt), options, cancel);

    private void Start(GenerationStream stream, int[] prompt, GenerationOptions options, CancellationToken cancel)
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
            throw new InvalidOperationException($"this {Name} session is already generating: a session runs one call at a time (create one session per thread or conversation)");
        bool started = false;
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Model.BeginGeneration();
            try
            {
                if (_decoder is VanillaDecoder vanilla)
                {
                    var sequence = vanilla.Begin(prompt, options, stream.Emit);
                    Model.Scheduler.Submit(new BatchScheduler.Entry(sequence, vanilla.State, cancel, (result, error) => End(stream, result, error)));
                }
                else
                {
                    var thread = new Thread(() =>
                    {
                        GenerationResult? result = null;
                        Exception? error = null;
                        try { result = _decoder.Generate(prompt, options, stream.Emit, cancel); }
                        catch (Exception e) { error = e; }
                        End(stream, result, error);
                    }) { IsBackground = true, Name = $"frspec-{Name}" };
                    thread.Start();
                }
                started = true;
            }
            finally { if (!started) Model.EndGeneration(); }
        }
        finally { if (!started) Volatile.Write(ref _busy, 0); }
    }

    /// <summary>Frees the session, then ends the stream (so its consumer may use the session again at once).</summary>
    private void End(GenerationStream stream, GenerationResult? result, Exception? error)
    {
        Model.EndGeneration();
        Volatile.Write(ref _busy, 0);
        if (error != null) stream.Fail(error);
        else stream.Complete(result!);
    }

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
