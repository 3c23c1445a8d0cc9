using System.Text.Json;

namespace FrSpec.Benchmarks;

/// <summary>What a question file holds; decides the default token budget and how answers are scored.</summary>
public enum QuestionSetKind
{
    /// <summary>Spec-Bench (MT-bench, translation, summarization, qa, math_reasoning, rag).</summary>
    SpecBench,
    /// <summary>OpenAI HumanEval: answers are executed against the problem's tests.</summary>
    HumanEval,
    /// <summary>GSM8K: answers are scored by the final number.</summary>
    Gsm8k,
    /// <summary>Alpaca instructions (speed only).</summary>
    Alpaca,
    /// <summary>Any other file of {question_id, category, turns} lines (speed only).</summary>
    Generic,
}

/// <summary>
/// A loaded question file. Reads Spec-Bench style jsonl ({question_id, category, turns[, reference]}) and
/// OpenAI HumanEval jsonl ({task_id, prompt, entry_point, test, canonical_solution}).
/// </summary>
public sealed class QuestionSet
{
    /// <summary>Short name for reports (the file name without extension).</summary>
    public string Name { get; }
    public QuestionSetKind Kind { get; }
    public IReadOnlyList<BenchmarkQuestion> Questions { get; }

    /// <summary>The paper's generation budgets: 1024 new tokens for Spec-Bench, 512 for HumanEval and GSM8K.</summary>
    public int DefaultMaxNewTokens => Kind is QuestionSetKind.HumanEval or QuestionSetKind.Gsm8k ? 512 : 1024;

    public QuestionSet(string name, QuestionSetKind kind, IReadOnlyList<BenchmarkQuestion> questions)
    {
        Name = name;
        Kind = kind;
        Questions = questions;
    }

    /// <summary>Category names in first-seen order.</summary>
    public IReadOnlyList<string> Categories => Questions.Select(q => q.Category).Distinct().ToList();

    /// <summary>
    /// The questions of the given categories (all when <paramref name="categories"/> is empty), at most
    /// <paramref name="limitPerCategory"/> of each (all when null), in file order.
    /// </summary>
    public QuestionSet Select(IReadOnlyCollection<string>? categories, int? limitPerCategory)
    {
        if (limitPerCategory is < 0) throw new FrSpecException($"--limit must be at least 0, got {limitPerCategory}");
        var known = Categories;
        if (categories is { Count: > 0 })
        {
            var unknown = categories.Where(c => !known.Contains(c)).ToList();
            if (unknown.Count > 0)
                throw new FrSpecException($"unknown categor{(unknown.Count == 1 ? "y" : "ies")} {string.Join(", ", unknown)} in {Name}; it has: {string.Join(", ", known)}");
        }
        var taken = new Dictionary<string, int>();
        var selected = new List<BenchmarkQuestion>();
        foreach (var q in Questions)
        {
            if (categories is { Count: > 0 } && !categories.Contains(q.Category)) continue;
            taken.TryGetValue(q.Category, out int n);
            if (limitPerCategory is int limit && n >= limit) continue;
            taken[q.Category] = n + 1;
            selected.Add(q);
        }
        return new QuestionSet(Name, Kind, selected);
    }

    const long MaxFileBytes = 1L << 30;

    /// <summary>Loads a question file; errors name the file, line and field.</summary>
    public static QuestionSet Load(string path)
    {
        if (!File.Exists(path)) throw new FrSpecException($"question file not found: {path}");
        var name = Path.GetFileNameWithoutExtension(path);
        var questions = new List<BenchmarkQuestion>();
        var ids = new HashSet<string>();
        bool humanEval = false;
        // Question sets are a few MB; the size limit refuses anything absurd rather than reading it into memory.
        foreach (var (_, root, where) in Formats.JsonLines.Read(path, MaxFileBytes, "question file"))
        {
            if (root.ValueKind != JsonValueKind.Object) throw new FrSpecException($"{where}: expected a JSON object per line");
            bool isHumanEval = root.TryGetProperty("task_id", out _);
            if (questions.Count == 0) humanEval = isHumanEval;
            else if (isHumanEval != humanEval) throw new FrSpecException($"{where}: mixes HumanEval lines (task_id) with question lines (question_id)");
            var q = isHumanEval ? ReadHumanEval(root, where) : ReadQuestion(root, where, name);
            if (!ids.Add(q.Id)) throw new FrSpecException($"{where}: duplicate question id {q.Id}");
            questions.Add(q);
        }
        if (questions.Count == 0) throw new FrSpecException($"{path}: holds no questions");
        return new QuestionSet(name, DetectKind(name, humanEval, questions), questions);
    }

    static QuestionSetKind DetectKind(string name, bool humanEval, List<BenchmarkQuestion> questions)
    {
        if (humanEval) return QuestionSetKind.HumanEval;
        // GSM8K references end in "#### <answer>"; Spec-Bench's math_reasoning items have them too, so check the set as a whole.
        if (questions.All(q => q.References.Count > 0 && q.References[0].Contains("####")))
            return QuestionSetKind.Gsm8k;
        if (questions.Any(q => SpecBenchCategories.All.Contains(q.Category) && q.Category != "math_reasoning"))
            return QuestionSetKind.SpecBench;
        if (name.Contains("alpaca", StringComparison.OrdinalIgnoreCase)) return QuestionSetKind.Alpaca;
        return QuestionSetKind.Generic;
    }

    static BenchmarkQuestion ReadQuestion(JsonElement root, string where, string setName)
    {
        if (!root.TryGetProperty("question_id", out var idEl))
            throw new FrSpecException($"{where}: missing field question_id");
        long? numeric = null;
        string id;
        if (idEl.ValueKind == JsonValueKind.Number && idEl.TryGetInt64(out long n)) { numeric = n; id = n.ToString(System.Globalization.CultureInfo.InvariantCulture); }
        else if (idEl.ValueKind == JsonValueKind.String && idEl.GetString() is { Length: > 0 } s) id = s;
        else throw new FrSpecException($"{where}: field question_id must be an integer or a non-empty string");

        string category = "";
        if (root.TryGetProperty("category", out var catEl))
        {
            if (catEl.ValueKind != JsonValueKind.String) throw new FrSpecException($"{where}: field category must be a string");
            category = catEl.GetString()!;
        }
        if (category.Length == 0) category = setName;

        var turns = ReadStrings(root, "turns", where, required: true);
        if (turns.Count == 0) throw new FrSpecException($"{where}: field turns is empty");
        var refs = ReadStrings(root, "reference", where, required: false);
        return new BenchmarkQuestion { Id = id, NumericId = numeric, Category = category, Turns = turns, References = refs };
    }

    static BenchmarkQuestion ReadHumanEval(JsonElement root, string where)
    {
        string Field(string f)
        {
            if (!root.TryGetProperty(f, out var el)) throw new FrSpecException($"{where}: missing field {f}");
            if (el.ValueKind != JsonValueKind.String) throw new FrSpecException($"{where}: field {f} must be a string");
            return el.GetString()!;
        }
        var problem = new HumanEvalProblem(Field("task_id"), Field("prompt"), Field("entry_point"), Field("test"),
            root.TryGetProperty("canonical_solution", out _) ? Field("canonical_solution") : "");
        if (problem.TaskId.Length == 0 || problem.EntryPoint.Length == 0)
            throw new FrSpecException($"{where}: task_id and entry_point must not be empty");
        // The prompt (signature + docstring) is the single user turn, as the EAGLE / FR-Spec HumanEval scripts use it.
        return new BenchmarkQuestion
        {
            Id = problem.TaskId,
            Category = "humaneval",
            Turns = new[] { problem.Prompt },
            HumanEval = problem,
        };
    }

    static List<string> ReadStrings(JsonElement root, string field, string where, bool required)
    {
        if (!root.TryGetProperty(field, out var el) || el.ValueKind == JsonValueKind.Null)
        {
            if (required) throw new FrSpecException($"{where}: missing field {field}");
            return new List<string>();
        }
        if (el.ValueKind != JsonValueKind.Array) throw new FrSpecException($"{where}: field {field} must be an array of strings");
        var list = new List<string>();
        foreach (var item in el.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String) list.Add(item.GetString()!);
            // Spec-Bench's RAG references list several acceptable answers per turn: keep them as one string.
            else if (!required && item.ValueKind == JsonValueKind.Array && item.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
                list.Add(string.Join(" | ", item.EnumerateArray().Select(e => e.GetString())));
            else throw new FrSpecException($"{where}: field {field} must hold only strings");
        }
        return list;
    }
}

/// <summary>Spec-Bench's category names and the groups its speed script reports.</summary>
public static class SpecBenchCategories
{
    /// <summary>The eight MT-bench categories, reported together as "mt_bench" (multi-turn conversation).</summary>
    public static readonly IReadOnlyList<string> MtBench = new[] { "writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities" };
    /// <summary>The single-turn Spec-Bench tasks.</summary>
    public static readonly IReadOnlyList<string> Tasks = new[] { "translation", "summarization", "qa", "math_reasoning", "rag" };
    public static readonly IReadOnlySet<string> All = new HashSet<string>(MtBench.Concat(Tasks));

    /// <summary>The group a category is reported under: MT-bench categories become "mt_bench", others stay.</summary>
    public static string GroupOf(string category) => MtBench.Contains(category) ? "mt_bench" : category;
}
