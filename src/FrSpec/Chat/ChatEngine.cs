using System.Collections.Concurrent;
using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Text;

namespace FrSpec.Chat;

/// <summary>
/// Answers chat and completion requests on one shared <see cref="LanguageModel"/> with one decoding method: each answer
/// runs on a session of its own (kept in a pool and reused, so concurrent answers never share caches), streamed as
/// text. Concurrent vanilla answers are decoded together (continuous batching). Thread-safe. The server and
/// <see cref="FrSpecChatClient"/> are built on it.
/// </summary>
public sealed class ChatEngine : IDisposable
{
    private readonly ConcurrentBag<ModelSession> _idle = new();
    private bool _disposed;

    public LanguageModel Model { get; }
    public DecodingMethod Method { get; }

    /// <summary>Tokens a prompt and its answer may hold together: max_position_embeddings (and the sliding window, if smaller).</summary>
    public int ContextLength { get; }

    public ChatEngine(LanguageModel model, DecodingMethod? method = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        if (model.Vocabulary.Tokenizer == null) throw new FrSpecException($"{model.Directory}: no tokenizer.json: chat and text answers need a tokenizer");
        Method = method ?? DecodingMethod.Vanilla;
        var config = model.Target.Config;
        ContextLength = Math.Min(config.MaxPositions, config.SlidingWindow ?? int.MaxValue);
        // Build one session now: a bad head or tree fails here, at start-up, not in the first request.
        _idle.Add(model.CreateSession(Method));
    }

    /// <summary>Sessions created so far (the most answers that ran at once).</summary>
    public int SessionCount { get; private set; } = 1;

    /// <summary>Prompt ids of a conversation with optional tools, through the model's chat template.</summary>
    public int[] EncodeChat(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ChatTool>? tools = null) =>
        Model.Vocabulary.EncodeChat(messages, tools);

    /// <summary>Prompt ids of plain text (with BOS where the tokenizer adds it).</summary>
    public int[] EncodeText(string prompt) => Model.Vocabulary.Encode(prompt);

    /// <summary>
    /// The generation options for a request: its values where given, else the model's generation_config.json
    /// (sampling) and the rest of the context (budget). Null arguments mean "not given"; without a seed each request
    /// draws a random one (as chat APIs do), so only a given seed makes sampled answers repeatable.
    /// </summary>
    public GenerationOptions Options(int promptTokens, int? maxTokens, float? temperature, float? topP, int? topK, ulong? seed)
    {
        var config = Model.Vocabulary.GenerationConfig;
        var sampling = config.Sampling;
        if (temperature is float t) sampling = t <= 0 ? sampling with { Temperature = 0 } : sampling with { Temperature = t };
        if (topP is float p) sampling = sampling with { TopP = p };
        if (topK is int k) sampling = sampling with { TopK = k };
        sampling = sampling with { Seed = seed ?? (ulong)Random.Shared.NextInt64() };
        int budget = maxTokens ?? Math.Min(config.MaxNewTokens ?? int.MaxValue, ContextLength - promptTokens);
        return new GenerationOptions { MaxNewTokens = budget, Sampling = sampling };
    }

    /// <summary>Throws when the prompt and the answer's budget do not fit the context (a message for the caller).</summary>
    public void CheckContext(int promptTokens, int maxNewTokens)
    {
        if (promptTokens == 0) throw new FrSpecException("the prompt is empty");
        if ((long)promptTokens + maxNewTokens > ContextLength)
            throw new FrSpecException($"this model's context is {ContextLength} tokens, but {promptTokens} prompt tokens and {maxNewTokens} tokens to generate need {(long)promptTokens + maxNewTokens}; shorten the prompt or lower max_tokens");
    }

    /// <summary>An answer to prompt ids, streamed when enumerated.</summary>
    public AnswerStream Answer(int[] prompt, AnswerOptions options, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckContext(prompt.Length, options.Generation.MaxNewTokens);
        return new AnswerStream(this, prompt, options, cancel);
    }

    internal ModelSession Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_idle.TryTake(out var session)) return session;
        lock (_idle) SessionCount++;
        return Model.CreateSession(Method);
    }

    internal void Return(ModelSession session)
    {
        if (_disposed) session.Dispose();
        else _idle.Add(session);
    }

    /// <summary>Ends the pooled sessions; the model stays loaded (its owner disposes it).</summary>
    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out var s)) s.Dispose();
    }
}
