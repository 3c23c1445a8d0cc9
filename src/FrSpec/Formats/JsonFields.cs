using System.Text.Json;

namespace FrSpec.Formats;

/// <summary>
/// Typed, defensive reads of Hugging Face config files (config.json, generation_config.json): a field that is absent or
/// null reads as null (the caller's default applies); a field of the wrong kind (a string where a number belongs, a
/// fraction where an integer belongs, a number beyond double's range) is an error naming the file and the field, never a
/// silent default. The optional parent argument names a nested object in messages ("rope_scaling").
/// </summary>
internal static class JsonFields
{
    /// <summary>Parses a JSON file that must hold an object (bounded size, valid Unicode: <see cref="JsonInput"/>).</summary>
    public static JsonDocument ReadObject(string file)
    {
        var doc = JsonInput.ReadFile(file, "config file");
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw new FrSpecException($"{file}: expected a JSON object");
        }
        return doc;
    }

    private static string Field(string name, string? parent) => parent is null ? $"'{name}'" : $"'{parent}.{name}'";

    private static bool TryGet(JsonElement o, string name, out JsonElement v)
    {
        if (o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out v) && v.ValueKind != JsonValueKind.Null) return true;
        v = default;
        return false;
    }

    private static FrSpecException Kind(string file, string name, string? parent, string expected, JsonElement v) =>
        new($"{file}: field {Field(name, parent)} must be {expected}, got {Describe(v)}");

    /// <summary>A short rendering of a value for messages (bounded, one line).</summary>
    internal static string Describe(JsonElement v)
    {
        string raw = v.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            _ => v.GetRawText(),
        };
        return raw.Length > 40 ? raw[..40] + "…" : raw;
    }

    public static string? Str(JsonElement o, string name, string file, string? parent = null)
    {
        if (!TryGet(o, name, out var v)) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw Kind(file, name, parent, "a string", v);
    }

    public static int Int(JsonElement o, string name, string file, string? parent = null) =>
        OptInt(o, name, file, parent) ?? throw new FrSpecException($"{file}: required field {Field(name, parent)} is missing");

    public static int? OptInt(JsonElement o, string name, string file, string? parent = null)
    {
        if (!TryGet(o, name, out var v)) return null;
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw Kind(file, name, parent, "an integer (32-bit)", v);
    }

    public static double? OptDouble(JsonElement o, string name, string file, string? parent = null)
    {
        if (!TryGet(o, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number) throw Kind(file, name, parent, "a number", v);
        double d = v.GetDouble();
        return double.IsFinite(d) ? d : throw Kind(file, name, parent, "a finite number", v);
    }

    public static bool? OptBool(JsonElement o, string name, string file, string? parent = null)
    {
        if (!TryGet(o, name, out var v)) return null;
        return v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Kind(file, name, parent, "true or false", v);
    }

    /// <summary>An object-valued field, or null when absent or null.</summary>
    public static JsonElement? OptObject(JsonElement o, string name, string file, string? parent = null)
    {
        if (!TryGet(o, name, out var v)) return null;
        return v.ValueKind == JsonValueKind.Object ? v : throw Kind(file, name, parent, "an object", v);
    }

    /// <summary>A list of strings (one string is accepted as a list of one), or null when absent.</summary>
    public static IReadOnlyList<string>? OptStrings(JsonElement o, string name, string file, string? parent = null)
    {
        if (!TryGet(o, name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.String) return [v.GetString()!];
        if (v.ValueKind != JsonValueKind.Array) throw Kind(file, name, parent, "a list of strings", v);
        var list = new List<string>(v.GetArrayLength());
        foreach (var item in v.EnumerateArray())
            list.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw Kind(file, name, parent, "a list of strings", v));
        return list;
    }

    /// <summary>True when the field is present and not null.</summary>
    public static bool Has(JsonElement o, string name) => TryGet(o, name, out _);

    /// <summary>
    /// A token-id field (eos_token_id, bos_token_id) given as one integer or a list of integers; empty when absent or
    /// null. Anything else, or an id outside [0, <paramref name="vocabSize"/>) when a size is given, is an error naming the
    /// file and the field.
    /// </summary>
    public static int[] TokenIds(JsonElement o, string name, string file, int? vocabSize = null)
    {
        if (!TryGet(o, name, out var v)) return [];
        if (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 1024)
            throw new FrSpecException($"{file}: field '{name}' lists {v.GetArrayLength()} token ids; a list of stop or start ids is short");
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
