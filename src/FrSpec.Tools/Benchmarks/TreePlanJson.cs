using System.Text.Json;
using FrSpec.Generation;

namespace FrSpec.Benchmarks;

/// <summary>
/// The JSON form of a <see cref="TreePlan"/> in `--json` outputs and answer files:
/// {"auto", "speculative", "depth", "topk", "tokens", "draft_vocabulary_size", "predicted_accept_length",
/// "predicted_tokens_per_second", "predicted_plain_tokens_per_second", "warm_start"} (predictions and warm start only for the
/// automatic tree).
/// </summary>
public static class TreePlanJson
{
    public static Dictionary<string, object?> ToObject(TreePlan plan, int? changes = null)
    {
        var o = new Dictionary<string, object?>
        {
            ["auto"] = plan.Auto,
            ["speculative"] = plan.Speculative,
            ["depth"] = plan.Depth,
            ["topk"] = plan.TopK,
            ["tokens"] = plan.TotalTokens,
            ["draft_vocabulary_size"] = plan.DraftVocabularySize,
        };
        if (plan.Auto)
        {
            o["predicted_accept_length"] = Math.Round(plan.PredictedAcceptLength, 3);
            o["predicted_tokens_per_second"] = Math.Round(plan.PredictedTokensPerSecond, 3);
            o["predicted_plain_tokens_per_second"] = Math.Round(plan.PredictedPlainTokensPerSecond, 3);
            o["warm_start"] = plan.WarmStart;
        }
        if (changes is int c) o["changes"] = c;
        return o;
    }

    public static void Write(Utf8JsonWriter w, TreePlan plan)
    {
        w.WriteStartObject();
        foreach (var (key, value) in ToObject(plan))
        {
            w.WritePropertyName(key);
            switch (value)
            {
                case bool b: w.WriteBooleanValue(b); break;
                case int i: w.WriteNumberValue(i); break;
                case double d: w.WriteNumberValue(d); break;
            }
        }
        w.WriteEndObject();
    }

    /// <summary>Reads what <see cref="Write"/> wrote; null for anything else (answer files of other tools have no plans).</summary>
    public static TreePlan? Read(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) return null;
        int Int(string f) => e.TryGetProperty(f, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : -1;
        double Num(string f) => e.TryGetProperty(f, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 0;
        bool Bool(string f) => e.TryGetProperty(f, out var v) && v.ValueKind == JsonValueKind.True;
        int depth = Int("depth"), topK = Int("topk"), tokens = Int("tokens"), size = Int("draft_vocabulary_size");
        if (depth < 0 || topK < 1 || tokens < 1 || size < 1) return null;
        return new TreePlan
        {
            Auto = Bool("auto"), Speculative = Bool("speculative"), WarmStart = Bool("warm_start"),
            Depth = depth, TopK = topK, TotalTokens = tokens,
            DraftVocabularySize = size,
            PredictedAcceptLength = Num("predicted_accept_length"),
            PredictedTokensPerSecond = Num("predicted_tokens_per_second"),
            PredictedPlainTokensPerSecond = Num("predicted_plain_tokens_per_second"),
        };
    }
}
