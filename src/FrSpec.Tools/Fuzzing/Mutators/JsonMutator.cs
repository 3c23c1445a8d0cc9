using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FrSpec.Fuzzing.Mutators;

/// <summary>
/// Structure-aware mutations of a JSON document: values replaced by boundary values of every kind (numbers at the edges
/// of int, long and double, huge and empty strings, wrong kinds, deep nesting), keys deleted or duplicated, subtrees
/// copied elsewhere; then, sometimes, damage to the text itself (truncation, invalid UTF-8, escaped lone surrogates,
/// a byte-order mark, trailing garbage) that no tree can express. A target may add values for fields it knows.
/// </summary>
public sealed class JsonMutator
{
    private readonly Dictionary<string, JsonNode?[]> _byField;

    /// <param name="byField">Extra values to try for fields of a given name (e.g. "vocab_size": [0, 1, 2^31 − 1]).</param>
    public JsonMutator(IReadOnlyDictionary<string, JsonNode?[]>? byField = null)
    {
        _byField = byField?.ToDictionary(kv => kv.Key, kv => kv.Value) ?? new Dictionary<string, JsonNode?[]>();
    }

    private static readonly Func<JsonNode?>[] Interesting =
    [
        () => null, () => true, () => false, () => 0, () => -1, () => 1, () => 2, () => 3, () => 255, () => 256, () => 65535, () => 65536,
        () => int.MaxValue, () => int.MinValue, () => 2147483648L, () => 4294967296L, () => long.MaxValue, () => long.MinValue,
        () => 9007199254740993L, () => 0.5, () => -0.5, () => 1e-45, () => 1e308, () => -1e308, () => 1e-320, () => 3.4e38, () => 0.0,
        () => "", () => "0", () => "1", () => "-1", () => "NaN", () => "Infinity", () => "x", () => "\u2581", () => "\u0000", () => "../../etc/passwd",
        () => "{{", () => "{% for x in range(1000000000) %}x{% endfor %}", () => "((a+)+)+$", () => "(", () => new string('a', 70_000),
        () => new JsonArray(), () => new JsonObject(), () => new JsonArray(1, 2, 3), () => new JsonArray("a", "b"), () => new JsonArray((JsonNode?)null),
        () => new JsonObject { ["type"] = "Nope" }, () => new JsonObject { ["content"] = 5 }, () => Nest(40),
    ];

    private static JsonNode Nest(int depth)
    {
        JsonNode n = new JsonArray();
        for (int i = 0; i < depth; i++) n = new JsonArray(n);
        return n;
    }

    /// <summary>A mutated copy of <paramref name="json"/> (UTF-8) and a description of what was done.</summary>
    public (byte[] Bytes, string What) Mutate(byte[] json, Random rng)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (JsonException) { return BinaryMutator.Mutate(json, rng); }
        var what = new List<string>();
        int edits = 1 + (rng.Next(4) == 0 ? rng.Next(4) : 0);
        for (int k = 0; k < edits && root is not null; k++) root = EditTree(root, rng, what);
        byte[] bytes;
        try { bytes = Encoding.UTF8.GetBytes(root?.ToJsonString() ?? "null"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            what.Add("(tree not writable: text damage instead)");
            bytes = json;
        }
        if (rng.Next(6) == 0) bytes = DamageText(bytes, rng, what);
        return (bytes, string.Join("; ", what));
    }

    private JsonNode EditTree(JsonNode root, Random rng, List<string> what)
    {
        var nodes = new List<(JsonNode Parent, string? Key, int Index, string Path)>();
        Collect(root, "$", nodes, 0);
        if (nodes.Count == 0) return Interesting[rng.Next(Interesting.Length)]() ?? new JsonObject();
        var (parent, key, index, path) = nodes[rng.Next(nodes.Count)];
        JsonNode? current = key is not null ? parent[key] : ((JsonArray)parent)[index];
        JsonNode? value;
        string op;
        switch (rng.Next(10))
        {
            case 0 when parent is JsonObject o && key is not null:
                o.Remove(key);
                what.Add($"deleted {path}");
                return root;
            case 1 when current is JsonValue v && v.TryGetValue(out double d):
                value = rng.Next(5) switch
                {
                    0 => d + 1, 1 => d - 1, 2 => -d, 3 => d * 1000, _ => Math.Floor(d / 2),
                };
                op = "nudged";
                break;
            case 2 when current is JsonValue s && s.TryGetValue(out string? text):
                value = rng.Next(3) switch
                {
                    0 => text.Length > 0 ? text[..rng.Next(text.Length)] : "x",
                    1 => text + text,
                    _ => text.Length > 0 ? text.Remove(rng.Next(text.Length), 1).Insert(rng.Next(text.Length), ((char)rng.Next(32, 0x3000)).ToString()) : "\u0001",
                };
                op = "edited";
                break;
            case 3:
                value = nodes[rng.Next(nodes.Count)] is var (p2, k2, i2, _) ? (k2 is not null ? p2[k2] : ((JsonArray)p2)[i2])?.DeepClone() : null;
                op = "copied another value into";
                break;
            case 4 when current is JsonArray arr && arr.Count > 0:
                arr.RemoveAt(rng.Next(arr.Count));
                what.Add($"removed an item of {path}");
                return root;
            case 5 when current is JsonArray arr2 && arr2.Count > 0:
                arr2.Add(arr2[rng.Next(arr2.Count)]?.DeepClone());
                what.Add($"duplicated an item of {path}");
                return root;
            case 6 when key is not null && _byField.TryGetValue(key, out var known):
                value = known[rng.Next(known.Length)]?.DeepClone();
                op = "set field value of";
                break;
            default:
                value = Interesting[rng.Next(Interesting.Length)]();
                op = "replaced";
                break;
        }
        if (key is not null) parent[key] = value;
        else ((JsonArray)parent)[index] = value;
        what.Add($"{op} {path} with {Show(value)}");
        return root;
    }

    private static void Collect(JsonNode node, string path, List<(JsonNode, string?, int, string)> into, int depth)
    {
        if (depth > 64 || into.Count > 200_000) return;
        if (node is JsonObject o)
            foreach (var (k, v) in o.ToList())
            {
                string p = $"{path}.{k}";
                into.Add((o, k, -1, p));
                if (v is not null) Collect(v, p, into, depth + 1);
            }
        else if (node is JsonArray a)
            for (int i = 0; i < a.Count; i++)
            {
                string p = $"{path}[{i}]";
                into.Add((a, null, i, p));
                if (a[i] is { } v) Collect(v, p, into, depth + 1);
            }
    }

    private static string Show(JsonNode? v)
    {
        string s = v?.ToJsonString() ?? "null";
        return s.Length > 40 ? s[..40] + "…" : s;
    }

    /// <summary>Damage no JSON tree can express.</summary>
    public static byte[] DamageText(byte[] bytes, Random rng, List<string> what)
    {
        int at = bytes.Length == 0 ? 0 : rng.Next(bytes.Length);
        switch (rng.Next(8))
        {
            case 0:
                what.Add($"truncated to {at} bytes");
                return bytes[..at];
            case 1:
                what.Add($"invalid UTF-8 at {at}");
                return [.. bytes[..at], (byte)(rng.Next(2) == 0 ? 0xFF : 0xC3), .. bytes[at..]];
            case 2:
            {
                // an escaped lone surrogate inside the first string at or after `at`
                int quote = Array.IndexOf(bytes, (byte)'"', at);
                if (quote < 0) goto case 1;
                what.Add($"lone surrogate escape at {quote + 1}");
                return [.. bytes[..(quote + 1)], .. "\\uD83D"u8.ToArray(), .. bytes[(quote + 1)..]];
            }
            case 3:
                what.Add("byte-order mark");
                return [0xEF, 0xBB, 0xBF, .. bytes];
            case 4:
                what.Add("trailing garbage");
                return [.. bytes, .. "}{,"u8.ToArray()];
            case 5:
                what.Add("deep nesting");
                return [.. Encoding.ASCII.GetBytes(new string('[', 5000)), .. bytes];
            case 6:
                what.Add($"huge number at {at}");
                return [.. bytes[..at], .. "1e99999"u8.ToArray(), .. bytes[at..]];
            default:
                what.Add($"NUL byte at {at}");
                return [.. bytes[..at], 0, .. bytes[at..]];
        }
    }
}
