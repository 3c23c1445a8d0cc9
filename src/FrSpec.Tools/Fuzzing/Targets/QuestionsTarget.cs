using System.Text;
using System.Text.Json.Nodes;
using FrSpec.Benchmarks;
using FrSpec.Fuzzing.Mutators;

namespace FrSpec.Fuzzing.Targets;

/// <summary>Question files of `bench spec`: Spec-Bench style and HumanEval style JSON lines; loaded and selected.</summary>
public sealed class QuestionsTarget : FuzzTarget
{
    private static readonly JsonMutator Line = new(new Dictionary<string, JsonNode?[]>
    {
        ["question_id"] = [null, 1.5, "", new JsonArray(), long.MaxValue, 81, -1],
        ["category"] = [null, "", 5, "writing", "math"],
        ["turns"] = [new JsonArray(), new JsonArray(1), "x", new JsonArray(""), new JsonArray(new JsonArray("a"))],
        ["reference"] = [new JsonArray(new JsonArray(1)), "x", new JsonArray((JsonNode?)null)],
        ["task_id"] = ["", 5, "HumanEval/0"],
        ["entry_point"] = ["", null, 5],
        ["prompt"] = [null, 7],
        ["test"] = [null, new JsonObject()],
        ["canonical_solution"] = [5],
    });

    public override string Name => "questions";
    public override string Description => "question files (Spec-Bench and HumanEval JSON lines): load, select categories";

    public override void WriteSeed(string dir)
    {
        File.WriteAllText(Path.Combine(dir, "questions.jsonl"), FuzzSeeds.QuestionsJsonLines());
        File.WriteAllText(Path.Combine(dir, "humaneval.jsonl"), FuzzSeeds.HumanEvalJsonLines());
    }

    public override FuzzCase Mutate(IReadOnlyDictionary<string, byte[]> seed, Random rng)
    {
        string file = rng.Next(3) == 0 ? "humaneval.jsonl" : "questions.jsonl";
        var lines = Encoding.UTF8.GetString(seed[file]).TrimEnd('\n').Split('\n').ToList();
        int i = rng.Next(lines.Count);
        string what;
        switch (rng.Next(6))
        {
            case 0:
                lines.Add(lines[i]);
                what = $"line {i + 1} repeated";
                break;
            case 1:
            {
                var damaged = new List<string>();
                var bytes = JsonMutator.DamageText(seed[file], rng, damaged);
                return One(file, (bytes, string.Join("; ", damaged)));
            }
            default:
                var (line, w) = Line.Mutate(Encoding.UTF8.GetBytes(lines[i]), rng);
                var result = Encoding.UTF8.GetBytes(string.Join("\n", lines.Take(i))).Concat(i > 0 ? "\n"u8.ToArray() : [])
                    .Concat(line).Concat("\n"u8.ToArray()).Concat(Encoding.UTF8.GetBytes(string.Join("\n", lines.Skip(i + 1)))).ToArray();
                return One(file, (result, $"line {i + 1}: {w}"));
        }
        return One(file, (Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n"), what));
    }

    public override void Exercise(string dir)
    {
        foreach (var file in new[] { "questions.jsonl", "humaneval.jsonl" })
        {
            var set = QuestionSet.Load(Path.Combine(dir, file));
            set.Select(null, null);
            set.Select([set.Categories[0]], 1);
            _ = set.DefaultMaxNewTokens + set.Questions.Sum(q => q.Turns.Count);
        }
    }
}
