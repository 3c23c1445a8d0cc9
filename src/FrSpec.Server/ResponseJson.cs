using System.Buffers;
using System.Text.Json;
using FrSpec.Chat;
using FrSpec.Text;

namespace FrSpec.Server;

/// <summary>The JSON bodies the server writes, in the OpenAI layouts (chat.completion, chat.completion.chunk, text_completion, errors).</summary>
internal static class ResponseJson
{
    /// <summary>Writes one JSON value built by <paramref name="write"/> into a fresh buffer.</summary>
    public static ReadOnlyMemory<byte> Build(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return buffer.WrittenMemory;
    }

    public static ReadOnlyMemory<byte> Error(ApiException e) => Build(w =>
    {
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("message", e.Message);
        w.WriteString("type", e.Type);
        WriteStringOrNull(w, "param", e.Param);
        WriteStringOrNull(w, "code", e.Code);
        w.WriteEndObject();
        w.WriteEndObject();
    });

    /// <summary>The head every response object starts with.</summary>
    public static void Head(Utf8JsonWriter w, string id, string type, long created, string model)
    {
        w.WriteString("id", id);
        w.WriteString("object", type);
        w.WriteNumber("created", created);
        w.WriteString("model", model);
        w.WriteString("system_fingerprint", "frspec");
    }

    /// <summary>usage: token counts, and "frspec" with the decoding statistics (method, accepted length, time split).</summary>
    public static void Usage(Utf8JsonWriter w, int promptTokens, AnswerEnd end, string method)
    {
        var r = end.Result;
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", promptTokens);
        w.WriteNumber("completion_tokens", r.Ids.Length);
        w.WriteNumber("total_tokens", promptTokens + r.Ids.Length);
        w.WriteStartObject("frspec");
        w.WriteString("method", method);
        w.WriteNumber("mean_accepted_length", r.MeanAcceptLength);
        w.WriteNumber("decoding_steps", r.AcceptLengths.Length);
        w.WriteNumber("tokens_per_second", r.TokensPerSecond);
        w.WriteNumber("prefill_seconds", r.PrefillSeconds);
        w.WriteNumber("decode_seconds", r.DecodeSeconds);
        w.WriteStartObject("time");
        w.WriteNumber("draft_layers", r.Time.DraftLayers);
        w.WriteNumber("draft_lm_head", r.Time.DraftLmHead);
        w.WriteNumber("verify", r.Time.Verify);
        w.WriteNumber("other", r.Time.Other);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>The tool_calls array of a message or delta (in a delta each call carries its index).</summary>
    public static void ToolCalls(Utf8JsonWriter w, IReadOnlyList<ChatToolCall> calls, bool delta)
    {
        w.WriteStartArray("tool_calls");
        for (int i = 0; i < calls.Count; i++)
        {
            w.WriteStartObject();
            if (delta) w.WriteNumber("index", i);
            w.WriteString("id", calls[i].Id ?? $"call_{i}");
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", calls[i].Name);
            w.WriteString("arguments", calls[i].Arguments);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    public static void WriteStringOrNull(Utf8JsonWriter w, string name, string? value)
    {
        if (value == null) w.WriteNull(name);
        else w.WriteString(name, value);
    }
}
