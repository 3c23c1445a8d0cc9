using System.Text.Json;

namespace FrSpec.Text;

/// <summary>Small defensive accessors for tokenizer JSON files: errors name the file and the field.</summary>
internal static class Json
{
    public static string Str(JsonElement node, string name, string file, string where)
    {
        if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String)
            return v.GetString()!;
        throw new FrSpecException($"{file}: {where}.{name} is missing or not a string");
    }

    public static string? OptStr(JsonElement node, string name)
        => node.ValueKind == JsonValueKind.Object && node.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString() : null;

    public static bool Bool(JsonElement node, string name, bool fallback)
        => node.ValueKind == JsonValueKind.Object && node.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean() : fallback;

    public static int Int(JsonElement node, string name, int fallback)
        => node.ValueKind == JsonValueKind.Object && node.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i)
            ? i : fallback;

    public static JsonElement Prop(JsonElement node, string name)
        => node.ValueKind == JsonValueKind.Object && node.TryGetProperty(name, out var v) ? v : default;

    public static IEnumerable<JsonElement> Array(JsonElement node, string name, string file, string where)
    {
        if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array)
            return v.EnumerateArray().ToList();
        throw new FrSpecException($"{file}: {where}.{name} is missing or not an array");
    }

    /// <summary>A {"String": s} or {"Regex": r} pattern.</summary>
    public static (string Pattern, bool IsRegex) Pattern(JsonElement node, string file, string where)
    {
        var p = Prop(node, "pattern");
        if (OptStr(p, "String") is { } s) return (s, false);
        if (OptStr(p, "Regex") is { } r) return (r, true);
        throw new FrSpecException($"{file}: {where}.pattern must be {{\"String\": ...}} or {{\"Regex\": ...}}");
    }

    /// <summary>A token given as a string or as {"content": ...} (AddedToken), or null.</summary>
    public static string? TokenContent(JsonElement node, string name)
    {
        var v = Prop(node, name);
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object => OptStr(v, "content"),
            _ => null,
        };
    }
}
