using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using FrSpec.Sessions;
using Microsoft.Extensions.AI;
using AI = Microsoft.Extensions.AI;

namespace FrSpec.Chat;

/// <summary>
/// <see cref="IChatClient"/> (Microsoft.Extensions.AI) over a loaded <see cref="LanguageModel"/>: the conversation goes
/// through the model's own chat template (with the tools of <see cref="ChatOptions.Tools"/>), the answer is decoded
/// with the client's <see cref="DecodingMethod"/> (vanilla, EAGLE-2, FR-Spec) and streamed. <see cref="ChatOptions"/>
/// map to: Temperature, TopP, TopK, Seed, MaxOutputTokens, StopSequences, Instructions (a system message first),
/// Tools and ToolMode (None hides the tools). Unset values come from the model's generation_config.json. Tool calls in
/// the answer come back as <see cref="FunctionCallContent"/>; usage as <see cref="UsageContent"/> / ChatResponse.Usage; the
/// decoding statistics in AdditionalProperties under "frspec.*" keys (<see cref="StatisticsKeys"/>). Thread-safe:
/// concurrent calls run on sessions of their own. The client does not own the model.
/// </summary>
public sealed class FrSpecChatClient : IChatClient
{
    private readonly ChatEngine _engine;
    private readonly ChatClientMetadata _metadata;

    /// <summary>The keys of the statistics in AdditionalProperties.</summary>
    public static class StatisticsKeys
    {
        public const string Method = "frspec.method";
        public const string MeanAcceptedLength = "frspec.mean_accepted_length";
        public const string DecodingSteps = "frspec.decoding_steps";
        public const string TokensPerSecond = "frspec.tokens_per_second";
        public const string PrefillSeconds = "frspec.prefill_seconds";
        public const string DecodeSeconds = "frspec.decode_seconds";
        public const string DraftLayersSeconds = "frspec.draft_layers_seconds";
        public const string DraftLmHeadSeconds = "frspec.draft_lm_head_seconds";
        public const string VerifySeconds = "frspec.verify_seconds";
        public const string OtherSeconds = "frspec.other_seconds";
    }

    /// <param name="model">the loaded model (shared; not disposed by this client)</param>
    /// <param name="method">how to decode (vanilla when null)</param>
    /// <param name="modelId">the name reported as ModelId (default: the model directory's name)</param>
    public FrSpecChatClient(LanguageModel model, DecodingMethod? method = null, string? modelId = null)
        : this(new ChatEngine(model, method), modelId) { }

    /// <summary>A client on an existing engine (shares its session pool).</summary>
    public FrSpecChatClient(ChatEngine engine, string? modelId = null)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _metadata = new ChatClientMetadata("frspec", null, modelId ?? Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(engine.Model.Directory)));
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AI.ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var text = new StringBuilder();
        var response = new ChatResponse();
        var contents = new List<AIContent>();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            response.ResponseId ??= update.ResponseId;
            response.CreatedAt ??= update.CreatedAt;
            response.ModelId ??= update.ModelId;
            foreach (var content in update.Contents)
                switch (content)
                {
                    case TextContent t: text.Append(t.Text); break;
                    case UsageContent u: response.Usage = u.Details; break;
                    default: contents.Add(content); break;
                }
            if (update.FinishReason is { } reason) response.FinishReason = reason;
            if (update.AdditionalProperties is { } properties) response.AdditionalProperties = properties;
        }
        if (text.Length > 0) contents.Insert(0, new TextContent(text.ToString()));
        response.Messages = [new AI.ChatMessage(ChatRole.Assistant, contents) { MessageId = response.ResponseId }];
        return response;
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AI.ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (options?.FrequencyPenalty is float f && f != 0 || options?.PresencePenalty is float p && p != 0)
            throw new NotSupportedException("FrSpec does not implement frequency or presence penalties (they change the distribution speculative decoding reproduces)");
        var tools = options?.ToolMode is NoneChatToolMode ? null : ChatMessages.Tools(options?.Tools);
        var conversation = ChatMessages.ToTemplate(messages, options?.Instructions);
        var prompt = _engine.EncodeChat(conversation, tools);
        var generation = _engine.Options(prompt.Length, options?.MaxOutputTokens, options?.Temperature, options?.TopP, options?.TopK,
            options?.Seed is long seed ? unchecked((ulong)seed) : null);
        var answer = _engine.Answer(prompt, new AnswerOptions { Generation = generation, StopSequences = options?.StopSequences?.ToArray(), ToolCalls = tools != null }, cancellationToken);

        string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow;
        string modelId = options?.ModelId ?? _metadata.DefaultModelId!;
        ChatResponseUpdate Update(IList<AIContent> contents) => new(ChatRole.Assistant, contents)
        {
            ResponseId = id, MessageId = id, CreatedAt = created, ModelId = modelId,
        };
        await foreach (string piece in answer.WithCancellation(cancellationToken).ConfigureAwait(false))
            yield return Update([new TextContent(piece)]);

        var end = answer.End!;
        var final = new List<AIContent>();
        foreach (var call in end.ToolCalls)
            final.Add(new FunctionCallContent(call.Id ?? "call_0", call.Name, ChatMessages.Arguments(call.Arguments)));
        final.Add(new UsageContent(new UsageDetails
        {
            InputTokenCount = answer.PromptTokens,
            OutputTokenCount = end.Result.Ids.Length,
            TotalTokenCount = answer.PromptTokens + end.Result.Ids.Length,
        }));
        var last = Update(final);
        last.FinishReason = end.Reason switch { FinishReason.Length => ChatFinishReason.Length, FinishReason.ToolCalls => ChatFinishReason.ToolCalls, _ => ChatFinishReason.Stop };
        last.AdditionalProperties = Statistics(_engine.Method.Name, end.Result);
        yield return last;
    }

    /// <summary>The decoding statistics of a generation under the <see cref="StatisticsKeys"/>.</summary>
    public static AdditionalPropertiesDictionary Statistics(string method, Generation.GenerationResult r) => new()
    {
        [StatisticsKeys.Method] = method,
        [StatisticsKeys.MeanAcceptedLength] = r.MeanAcceptLength,
        [StatisticsKeys.DecodingSteps] = r.AcceptLengths.Length,
        [StatisticsKeys.TokensPerSecond] = r.TokensPerSecond,
        [StatisticsKeys.PrefillSeconds] = r.PrefillSeconds,
        [StatisticsKeys.DecodeSeconds] = r.DecodeSeconds,
        [StatisticsKeys.DraftLayersSeconds] = r.Time.DraftLayers,
        [StatisticsKeys.DraftLmHeadSeconds] = r.Time.DraftLmHead,
        [StatisticsKeys.VerifySeconds] = r.Time.Verify,
        [StatisticsKeys.OtherSeconds] = r.Time.Other,
    };

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey != null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return _metadata;
        if (serviceType.IsInstanceOfType(this)) return this;
        if (serviceType.IsInstanceOfType(_engine)) return _engine;
        if (serviceType.IsInstanceOfType(_engine.Model)) return _engine.Model;
        return null;
    }

    /// <summary>Nothing to free: the model belongs to the caller; pooled sessions go with the engine.</summary>
    public void Dispose() { }
}
