using System.Text.Json;

namespace FrSpec.Formats;

/// <summary>Typed, defensive reads of Hugging Face config files (config.json, generation_config.json): errors name the file and the field.</summary>
internal static class JsonFields
{
    /// <summary>Parses a JSON file that must hold an object.</summary>
    public static JsonDocument ReadObject(string file)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(file)); }
        catch (JsonException e) { throw new FrSpecException($"{file}: invalid JSON ({e.Message})"); }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw new FrSpecException($"{file}: expected a JSON object");
        }
        return doc;
    }

    public static string? Str(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static int Int(JsonElement o, string name, string file) =>
        OptInt(o, name) ?? throw new FrSpecException($"{file}: required field '{name}' is missing or not an integer");

    public static int? OptInt(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : null;

    public static double? OptDouble(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    public static bool? OptBool(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && (v.ValueKind == JsonValueKind.True || v.ValueKind == JsonValueKind.False) ? v.GetBoolean() : null;

    /// <summary>True when the field is present and not null.</summary>
    public static bool Has(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>
    /// A token-id field (eos_token_id, bos_token_id) given as one integer or a list of integers; empty when absent or
    /// null. Anything else, or an id outside [0, <paramref name="vocabSize"/>) when a size is given, is an error naming the
    /// file and the field.
    /// </summary>
    public static int[] TokenIds(JsonElement o, string name, string file, int? vocabSize = null)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return [];
        var items = v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().ToList() : [v];
        var ids = new int[items.Count];
        for (int i = 0; i < ids.Length; i++)
        {
            if (items[i].ValueKind != JsonValueKind.Number || !items[i].TryGetInt32(out ids[i]))
                throw new FrSpecException($"{file}: field '{name}' must be a token id or a list of token ids");
            if (ids[i] < 0 || (vocabSize is int n && ids[i] >= n))
                throw new FrSpecException($"{file}: field '{name}' holds token id {ids[i]}, outside the vocabulary of {vocabSize} ids");
        }
        return ids;
    }
}
