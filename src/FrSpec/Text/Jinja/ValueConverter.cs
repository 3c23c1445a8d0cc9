using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FrSpec.Text.Jinja;

/// <summary>
/// The sandbox boundary: turns .NET inputs into template values. Only plain data crosses it (null, bool, integers,
/// floating point, strings, JSON, dictionaries with string keys and sequences); anything else, or nesting deeper than
/// the limit (including a collection that contains itself), is rejected with an error naming the variable.
/// </summary>
internal static class ValueConverter
{
    public static Value From(object? value, string name, int maxDepth) => Convert(value, name, 0, maxDepth);

    private static Value Convert(object? value, string path, int depth, int maxDepth)
    {
        if (depth > maxDepth) throw new FrSpecException($"template variable {path}: nested deeper than {maxDepth} levels");
        switch (value)
        {
            case null: return NoneValue.Instance;
            case Value v: return v;
            case string s: return StringValue.Of(s);
            case bool b: return BoolValue.Of(b);
            case char c: return StringValue.Of(c.ToString());
            case sbyte or byte or short or ushort or int or uint or long: return IntValue.Of(System.Convert.ToInt64(value, CultureInfo.InvariantCulture));
            case ulong u: return u <= long.MaxValue ? IntValue.Of((long)u) : throw new FrSpecException($"template variable {path}: {u} does not fit in 64 bits");
            case float or double or decimal or Half: return new FloatValue(System.Convert.ToDouble(value, CultureInfo.InvariantCulture));
            case JsonElement e: return FromJson(e, path, depth, maxDepth);
            case JsonNode n: return FromJson(JsonSerializer.SerializeToElement(n), path, depth, maxDepth);
            case IEnumerable<KeyValuePair<string, object?>> pairs:
            {
                var d = new OrderedDictionary<string, Value>();
                foreach (var (k, v) in pairs) d[k] = Convert(v, $"{path}.{k}", depth + 1, maxDepth);
                return new DictValue(d);
            }
            case IDictionary dict:
            {
                var d = new OrderedDictionary<string, Value>();
                foreach (DictionaryEntry entry in dict)
                {
                    if (entry.Key is not string k) throw new FrSpecException($"template variable {path}: dictionary keys must be strings");
                    d[k] = Convert(entry.Value, $"{path}.{k}", depth + 1, maxDepth);
                }
                return new DictValue(d);
            }
            case IEnumerable seq:
            {
                var items = new List<Value>();
                int i = 0;
                foreach (var item in seq) items.Add(Convert(item, $"{path}[{i++}]", depth + 1, maxDepth));
                return new ListValue(items.ToArray());
            }
        }
        throw new FrSpecException($"template variable {path}: values of type {value.GetType().Name} cannot be passed to a template " +
                                  "(use strings, numbers, booleans, null, JSON, dictionaries and lists)");
    }

    /// <summary>JSON as Python's json.loads reads it: integers without a fraction or exponent are int, others float.</summary>
    public static Value FromJson(JsonElement e, string path, int depth, int maxDepth)
    {
        if (depth > maxDepth) throw new FrSpecException($"template variable {path}: nested deeper than {maxDepth} levels");
        switch (e.ValueKind)
        {
            case JsonValueKind.Null or JsonValueKind.Undefined: return NoneValue.Instance;
            case JsonValueKind.True: return BoolValue.True;
            case JsonValueKind.False: return BoolValue.False;
            case JsonValueKind.String: return StringValue.Of(e.GetString()!);
            case JsonValueKind.Number:
            {
                string raw = e.GetRawText();
                if (raw.AsSpan().IndexOfAny(".eE") < 0 && long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
                    return IntValue.Of(n);
                return new FloatValue(e.GetDouble());
            }
            case JsonValueKind.Array:
            {
                var items = new List<Value>();
                int i = 0;
                foreach (var x in e.EnumerateArray()) items.Add(FromJson(x, $"{path}[{i++}]", depth + 1, maxDepth));
                return new ListValue(items.ToArray());
            }
            default:
            {
                var d = new OrderedDictionary<string, Value>();
                foreach (var p in e.EnumerateObject()) d[p.Name] = FromJson(p.Value, $"{path}.{p.Name}", depth + 1, maxDepth);
                return new DictValue(d);
            }
        }
    }
}
