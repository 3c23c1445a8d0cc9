using System.Text.Json;
using System.Text.Json.Nodes;
using FrSpec.Generation;

namespace FrSpec.Benchmarks;

/// <summary>
/// The settings of one benchmark run, kept in OUT/run.json. A resumed run must use the same settings (mixing
/// answers made with different budgets or temperatures would make the numbers meaningless); methods may be added.
/// </summary>
public sealed record BenchmarkSettings
{
    public const string FileName = "run.json";

    /// <summary>Question set name (file name without extension), e.g. "spec_bench".</summary>
    public required string DataSet { get; init; }
    public required QuestionSetKind Kind { get; init; }
    /// <summary>Full path of the question file the run used (lets --report-only find it again).</summary>
    public string? DataFile { get; init; }
    /// <summary>Model name used in Spec-Bench model_id fields (the model directory's name).</summary>
    public required string Model { get; init; }
    /// <summary>What the model is when it is not what its name says: an expanded model is a cost model (docs/expansion.md).</summary>
    public string? ModelNote { get; init; }
    public required int MaxNewTokens { get; init; }
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;
    /// <summary>Methods in report order: name (answer file stem) and spec ("vanilla", "eagle2", "fr:PATH").</summary>
    public IReadOnlyList<MethodEntry> Methods { get; init; } = Array.Empty<MethodEntry>();

    /// <summary>Spec-Bench style model id, e.g. "Llama-3.2-1B-Instruct-fr-16384-temperature-0.0".</summary>
    public string ModelId(string method) =>
        $"{Model}-{method}-temperature-{Sampling.Temperature.ToString("0.0##", System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>Path of a method's answer file in <paramref name="outDir"/>.</summary>
    public static string AnswerPath(string outDir, string method) => Path.Combine(outDir, method + ".jsonl");

    /// <summary>Reads OUT/run.json, or null when there is none.</summary>
    public static BenchmarkSettings? TryLoad(string outDir)
    {
        var path = Path.Combine(outDir, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new FrSpecException($"{path}: expected a JSON object");
            string Str(string f) => o[f]?.GetValue<string>() ?? throw new FrSpecException($"{path}: missing field {f}");
            var s = o["sampling"] as JsonObject ?? throw new FrSpecException($"{path}: missing field sampling");
            var methods = (o["methods"] as JsonArray ?? throw new FrSpecException($"{path}: missing field methods"))
                .Select(m => new MethodEntry(
                    m?["name"]?.GetValue<string>() ?? throw new FrSpecException($"{path}: a method lacks its name"),
                    MethodSpec.Parse(m["spec"]?.GetValue<string>() ?? throw new FrSpecException($"{path}: a method lacks its spec")),
                    m["vocab"]?.GetValue<int?>()))
                .ToList();
            return new BenchmarkSettings
            {
                DataSet = Str("data"),
                Kind = Enum.Parse<QuestionSetKind>(Str("kind")),
                DataFile = o["data_file"]?.GetValue<string>(),
                Model = Str("model"),
                ModelNote = o["model_note"]?.GetValue<string>(),
                MaxNewTokens = o["max_new_tokens"]?.GetValue<int>() ?? throw new FrSpecException($"{path}: missing field max_new_tokens"),
                Sampling = new SamplingOptions(
                    s["temperature"]?.GetValue<float>() ?? 0f,
                    s["top_k"]?.GetValue<int>() ?? 0,
                    s["top_p"]?.GetValue<float>() ?? 1f,
                    s["seed"]?.GetValue<ulong>() ?? 0),
                Methods = methods,
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new FrSpecException($"{path}: cannot read run settings ({e.Message})", e);
        }
    }

    public void Save(string outDir)
    {
        Directory.CreateDirectory(outDir);
        var o = new JsonObject
        {
            ["data"] = DataSet,
            ["kind"] = Kind.ToString(),
            ["data_file"] = DataFile,
            ["model"] = Model,
            ["model_note"] = ModelNote,
            ["max_new_tokens"] = MaxNewTokens,
            ["sampling"] = new JsonObject
            {
                ["temperature"] = Sampling.Temperature,
                ["top_k"] = Sampling.TopK,
                ["top_p"] = Sampling.TopP,
                ["seed"] = Sampling.Seed,
            },
            ["methods"] = new JsonArray(Methods.Select(m => (JsonNode)new JsonObject
            {
                ["name"] = m.Name,
                ["spec"] = m.Spec.ToString(),
                ["vocab"] = m.VocabSize,
            }).ToArray()),
        };
        File.WriteAllText(Path.Combine(outDir, FileName), o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>
    /// Checks that a resumed run uses the settings of the answers already in OUT, and returns the settings with
    /// the method lists merged (earlier methods first).
    /// </summary>
    public BenchmarkSettings MergeWithExisting(BenchmarkSettings? existing, string outDir)
    {
        if (existing is null) return this;
        var diffs = new List<string>();
        if (existing.DataSet != DataSet) diffs.Add($"data {existing.DataSet} vs {DataSet}");
        if (existing.Model != Model) diffs.Add($"model {existing.Model} vs {Model}");
        if (existing.MaxNewTokens != MaxNewTokens) diffs.Add($"max new tokens {existing.MaxNewTokens} vs {MaxNewTokens}");
        if (existing.Sampling != Sampling) diffs.Add($"sampling {existing.Sampling} vs {Sampling}");
        if (diffs.Count > 0)
            throw new FrSpecException($"{Path.Combine(outDir, FileName)} holds answers made with other settings ({string.Join("; ", diffs)}); use a fresh --out folder or the same settings");
        var merged = existing.Methods.ToList();
        foreach (var m in Methods)
        {
            int i = merged.FindIndex(e => e.Name == m.Name);
            if (i < 0) merged.Add(m);
            else if (merged[i].Spec != m.Spec)
                throw new FrSpecException($"{Path.Combine(outDir, FileName)}: method name {m.Name} was used for {merged[i].Spec}, now for {m.Spec}");
            else merged[i] = m;
        }
        return this with { Methods = merged, DataFile = DataFile ?? existing.DataFile };
    }
}

/// <summary>A benchmarked method: its name (answer file stem, report label), spec and draft vocabulary size V'.</summary>
public sealed record MethodEntry(string Name, MethodSpec Spec, int? VocabSize);
