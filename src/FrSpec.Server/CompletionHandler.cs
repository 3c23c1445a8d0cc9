using System.Diagnostics;
using System.Text;
using System.Text.Json;
using FrSpec.Chat;
using Microsoft.AspNetCore.Http;

namespace FrSpec.Server;

/// <summary>
/// POST /v1/chat/completions and /v1/completions: validate, admit (or 503), generate on a session of the engine's pool,
/// and answer as one JSON object or as Server-Sent Events. The generation is cancelled when the client disconnects
/// (within one decoding step; its slot is freed) or when the server's drain time after SIGTERM is over.
/// </summary>
internal sealed class CompletionHandler(ChatEngine engine, ServerOptions options, SlotGate gate, CancellationToken shutdown)
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray(), EventEnd = "\n\n"u8.ToArray(), Done = "data: [DONE]\n\n"u8.ToArray();

    public async Task HandleAsync(HttpContext context, bool chat)
    {
        long started = Stopwatch.GetTimestamp();
        string outcome;
        try { outcome = await RunAsync(context, chat).ConfigureAwait(false); }
        catch (ApiException e)
        {
            await WriteErrorAsync(context, e).ConfigureAwait(false);
            outcome = $"{e.Status} {e.Code ?? e.Type}";
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            outcome = "client disconnected";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // a bug, not the client's fault: an OpenAI-shaped 500 (a stream that has started just ends) and a log line
            await WriteErrorAsync(context, new ApiException(500, $"internal error: {e.Message}", "server_error")).ConfigureAwait(false);
            outcome = $"500 {e.GetType().Name}: {e.Message}";
        }
        options.Log?.WriteLine($"{DateTime.Now:HH:mm:ss} {context.Request.Method} {context.Request.Path} {outcome} {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s");
    }

    private async Task<string> RunAsync(HttpContext context, bool chat)
    {
        var body = await ReadBodyAsync(context.Request, context.RequestAborted).ConfigureAwait(false);
        var request = chat ? RequestParser.ParseChat(body) : RequestParser.ParseCompletion(body);
        if (request.Model != null && request.Model != options.ModelId)
            throw new ApiException(404, $"the model '{request.Model}' does not exist; this server serves '{options.ModelId}'", "invalid_request_error", "model", "model_not_found");
        int[] prompt = Encode(request);
        var generation = engine.Options(prompt.Length, request.MaxTokens, request.Temperature, request.TopP, request.TopK, request.Seed);
        if ((long)prompt.Length + generation.MaxNewTokens > engine.ContextLength || generation.MaxNewTokens < 1)
            throw ApiException.Invalid(request.MaxTokens != null ? "max_tokens" : chat ? "messages" : "prompt",
                $"this model's maximum context length is {engine.ContextLength} tokens; the prompt has {prompt.Length} tokens and {generation.MaxNewTokens} more were requested", "context_length_exceeded");
        var answerOptions = new AnswerOptions { Generation = generation, StopSequences = request.Stop, ToolCalls = request.Tools != null };

        if (shutdown.IsCancellationRequested) throw ShuttingDown();
        SlotGate.Lease? lease;
        try { lease = await gate.EnterAsync(context.RequestAborted).ConfigureAwait(false); }
        catch (OperationCanceledException) { return "client left while queued"; }
        if (lease == null)
        {
            context.Response.Headers.RetryAfter = options.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw new ApiException(503, $"the server is busy ({gate.Slots} generations running, {gate.Waiting} waiting); retry later", "server_error", null, "server_overloaded");
        }
        using (lease)
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, shutdown);
            var answer = engine.Answer(prompt, answerOptions, cancel.Token);
            string id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
            long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            try
            {
                return request.Stream
                    ? await StreamAsync(context, answer, request, chat, id, created).ConfigureAwait(false)
                    : await CompleteAsync(context, answer, chat, id, created).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                return "client disconnected: generation stopped";
            }
            catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
            {
                if (context.Response.HasStarted)
                {
                    await WriteEventAsync(context.Response, ResponseJson.Error(ShuttingDown()), CancellationToken.None).ConfigureAwait(false);
                    return "cancelled by shutdown";
                }
                throw ShuttingDown();
            }
        }
    }

    private int[] Encode(CompletionRequest request)
    {
        try
        {
            if (request.Messages != null) return engine.EncodeChat(request.Messages, request.Tools);
            if (request.PromptIds != null)
            {
                int size = engine.Model.Vocabulary.Size;
                foreach (int token in request.PromptIds)
                    if (token >= size) throw ApiException.Invalid("prompt", $"token id {token} is outside the vocabulary of {size} ids");
                return [.. request.PromptIds];
            }
            var ids = engine.EncodeText(request.Prompt!);
            return ids.Length > 0 ? ids : throw ApiException.Invalid("prompt", "the prompt is empty");
        }
        catch (FrSpecException e)
        {
            // the chat template refused the conversation (raise_exception, missing tool support) or the text has no tokenizer
            throw ApiException.Invalid(request.Messages != null ? (request.Tools != null && e.Message.Contains("tools", StringComparison.Ordinal) ? "tools" : "messages") : "prompt", e.Message);
        }
    }

    private async Task<string> CompleteAsync(HttpContext context, AnswerStream answer, bool chat, string id, long created)
    {
        var text = new StringBuilder();
        await foreach (string piece in answer.ConfigureAwait(false)) text.Append(piece);
        var end = answer.End!;
        var json = ResponseJson.Build(w =>
        {
            w.WriteStartObject();
            ResponseJson.Head(w, id, chat ? "chat.completion" : "text_completion", created, options.ModelId);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            if (chat)
            {
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                ResponseJson.WriteStringOrNull(w, "content", text.Length == 0 && end.ToolCalls.Count > 0 ? null : text.ToString());
                if (end.ToolCalls.Count > 0) ResponseJson.ToolCalls(w, end.ToolCalls, delta: false);
                w.WriteEndObject();
            }
            else w.WriteString("text", text.ToString());
            w.WriteNull("logprobs");
            w.WriteString("finish_reason", end.ReasonText);
            w.WriteEndObject();
            w.WriteEndArray();
            ResponseJson.Usage(w, answer.PromptTokens, end, engine.Method.Name);
            w.WriteEndObject();
        });
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
        return $"200 {end.Result.Ids.Length} tokens ({end.ReasonText})";
    }

    private async Task<string> StreamAsync(HttpContext context, AnswerStream answer, CompletionRequest request, bool chat, string id, long created)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        var aborted = context.RequestAborted;
        string type = chat ? "chat.completion.chunk" : "text_completion";

        ReadOnlyMemory<byte> Chunk(Action<Utf8JsonWriter> choice) => ResponseJson.Build(w =>
        {
            w.WriteStartObject();
            ResponseJson.Head(w, id, type, created, options.ModelId);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            choice(w);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        });
        ReadOnlyMemory<byte> Piece(string text) => Chunk(w =>
        {
            if (chat)
            {
                w.WriteStartObject("delta");
                w.WriteString("content", text);
                w.WriteEndObject();
            }
            else w.WriteString("text", text);
            w.WriteNull("logprobs");
            w.WriteNull("finish_reason");
        });

        if (chat)
            await WriteEventAsync(response, Chunk(w =>
            {
                w.WriteStartObject("delta");
                w.WriteString("role", "assistant");
                w.WriteString("content", "");
                w.WriteEndObject();
                w.WriteNull("logprobs");
                w.WriteNull("finish_reason");
            }), aborted).ConfigureAwait(false);
        await foreach (string piece in answer.ConfigureAwait(false))
            await WriteEventAsync(response, Piece(piece), aborted).ConfigureAwait(false);

        var end = answer.End!;
        if (chat && end.ToolCalls.Count > 0)
            await WriteEventAsync(response, Chunk(w =>
            {
                w.WriteStartObject("delta");
                ResponseJson.ToolCalls(w, end.ToolCalls, delta: true);
                w.WriteEndObject();
                w.WriteNull("logprobs");
                w.WriteNull("finish_reason");
            }), aborted).ConfigureAwait(false);
        await WriteEventAsync(response, Chunk(w =>
        {
            if (chat)
            {
                w.WriteStartObject("delta");
                w.WriteEndObject();
            }
            else w.WriteString("text", "");
            w.WriteNull("logprobs");
            w.WriteString("finish_reason", end.ReasonText);
        }), aborted).ConfigureAwait(false);
        if (request.IncludeUsage)
            await WriteEventAsync(response, ResponseJson.Build(w =>
            {
                w.WriteStartObject();
                ResponseJson.Head(w, id, type, created, options.ModelId);
                w.WriteStartArray("choices");
                w.WriteEndArray();
                ResponseJson.Usage(w, answer.PromptTokens, end, engine.Method.Name);
                w.WriteEndObject();
            }), aborted).ConfigureAwait(false);
        await response.Body.WriteAsync(Done, aborted).ConfigureAwait(false);
        await response.Body.FlushAsync(aborted).ConfigureAwait(false);
        return $"200 stream {end.Result.Ids.Length} tokens ({end.ReasonText})";
    }

    private static async Task WriteEventAsync(HttpResponse response, ReadOnlyMemory<byte> json, CancellationToken cancel)
    {
        await response.Body.WriteAsync(DataPrefix, cancel).ConfigureAwait(false);
        await response.Body.WriteAsync(json, cancel).ConfigureAwait(false);
        await response.Body.WriteAsync(EventEnd, cancel).ConfigureAwait(false);
        await response.Body.FlushAsync(cancel).ConfigureAwait(false);
    }

    public static async Task WriteErrorAsync(HttpContext context, ApiException e)
    {
        if (context.Response.HasStarted) return;
        context.Response.StatusCode = e.Status;
        context.Response.ContentType = "application/json";
        try { await context.Response.Body.WriteAsync(ResponseJson.Error(e), context.RequestAborted).ConfigureAwait(false); }
        catch (OperationCanceledException) { } // the client is gone
        catch (IOException) { }
    }

    private static ApiException ShuttingDown() => new(503, "the server is shutting down", "server_error", null, "server_shutting_down");

    private static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request, CancellationToken cancel)
    {
        if (request.ContentLength > RequestParser.MaxBodyBytes) throw new ApiException(413, $"the request body is larger than {RequestParser.MaxBodyBytes} bytes");
        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancel).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > RequestParser.MaxBodyBytes) throw new ApiException(413, $"the request body is larger than {RequestParser.MaxBodyBytes} bytes");
            buffer.Write(chunk, 0, read);
        }
        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }
}
