using System.Text.Json;

namespace FrSpec.Text;

/// <summary>
/// A tool the model may call, as its JSON definition in the OpenAI layout
/// <c>{"type": "function", "function": {"name", "description", "parameters": JSON schema}}</c>; templates print it
/// (usually with tojson) in the order its keys are given.
/// </summary>
public sealed class ChatTool
{
    /// <summary>The definition as given (a JSON object).</summary>
    public JsonElement Definition { get; }

    private ChatTool(JsonElement definition) => Definition = definition;

    /// <summary>A tool from its JSON definition (an OpenAI "tools" entry, kept verbatim).</summary>
    public static ChatTool FromJson(JsonElement definition)
    {
        if (definition.ValueKind != JsonValueKind.Object) throw new FrSpecException("a tool definition must be a JSON object");
        return new ChatTool(definition.Clone());
    }

    /// <summary>A tool from its JSON definition text.</summary>
    public static ChatTool FromJson(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return FromJson(doc.RootElement);
        }
        catch (JsonException e) { throw new FrSpecException($"tool definition is not valid JSON ({e.Message})", e); }
    }

    /// <summary>A function tool: name, description and the JSON schema of its parameters.</summary>
    public static ChatTool Function(string name, string? description, JsonElement? parameters)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", name);
            if (description is not null) w.WriteString("description", description);
            if (parameters is { } p) { w.WritePropertyName("parameters"); p.WriteTo(w); }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        using var doc = JsonDocument.Parse(stream.ToArray());
        return new ChatTool(doc.RootElement.Clone());
    }
}
