using FrSpec.Benchmarks;

namespace FrSpec.Tests.Benchmarks;

public class QuestionSetTests
{
    [Fact]
    public void SpecBench_HasThirteenCategoriesAndTwoTurnMtBenchItems()
    {
        var set = QuestionSet.Load(RepoFiles.Data("spec_bench.jsonl"));
        Assert.Equal(QuestionSetKind.SpecBench, set.Kind);
        Assert.Equal(480, set.Questions.Count);
        Assert.Equal(13, set.Categories.Count);
        var mt = set.Questions.Where(q => SpecBenchCategories.MtBench.Contains(q.Category)).ToList();
        Assert.Equal(80, mt.Count);
        Assert.All(mt, q => Assert.Equal(2, q.Turns.Count));
        Assert.All(set.Questions.Where(q => SpecBenchCategories.Tasks.Contains(q.Category)), q => Assert.Single(q.Turns));
        var first = set.Questions[0];
        Assert.Equal("81", first.Id);
        Assert.Equal(81, first.NumericId);
        Assert.Equal("writing", first.Category);
        Assert.StartsWith("Rewrite your previous response", first.Turns[1]);
        Assert.Equal(1024, set.DefaultMaxNewTokens);
    }

    [Fact]
    public void HumanEval_LoadsProblemsWithTests()
    {
        var set = QuestionSet.Load(RepoFiles.Data("human_eval.jsonl"));
        Assert.Equal(QuestionSetKind.HumanEval, set.Kind);
        Assert.Equal(164, set.Questions.Count);
        var q = set.Questions[0];
        Assert.Equal("HumanEval/0", q.Id);
        Assert.Null(q.NumericId);
        Assert.Equal("has_close_elements", q.HumanEval!.EntryPoint);
        Assert.Contains("def check(candidate)", q.HumanEval.Test);
        Assert.Equal(q.HumanEval.Prompt, q.Turns[0]);
        Assert.Equal(512, set.DefaultMaxNewTokens);
    }

    [Fact]
    public void Gsm8kAndAlpaca_AreRecognised()
    {
        var gsm = QuestionSet.Load(RepoFiles.Data("gsm8k_80.jsonl"));
        Assert.Equal(QuestionSetKind.Gsm8k, gsm.Kind);
        Assert.Equal(80, gsm.Questions.Count);
        Assert.Equal(109m, Gsm8kScorer.ExtractReference(gsm.Questions[0].References[0]));
        var alpaca = QuestionSet.Load(RepoFiles.Data("alpaca_80.jsonl"));
        Assert.Equal(QuestionSetKind.Alpaca, alpaca.Kind);
        Assert.Equal(80, alpaca.Questions.Count);
        Assert.All(alpaca.Questions, q => Assert.Equal("alpaca_80", q.Category)); // empty category -> set name
    }

    [Fact]
    public void Select_LimitsPerCategoryAndRejectsUnknownCategories()
    {
        var set = QuestionSet.Load(RepoFiles.Data("spec_bench.jsonl"));
        var few = set.Select(null, 2);
        Assert.Equal(26, few.Questions.Count);
        Assert.All(few.Questions.GroupBy(q => q.Category), g => Assert.Equal(2, g.Count()));
        var two = set.Select(new[] { "writing", "qa" }, 3);
        Assert.Equal(new[] { "writing", "qa" }, two.Categories);
        Assert.Equal(6, two.Questions.Count);
        var e = Assert.Throws<FrSpecException>(() => set.Select(new[] { "poetry" }, null));
        Assert.Contains("poetry", e.Message);
    }

    [Theory]
    [InlineData("{\"question_id\": 1, \"category\": \"x\", \"turns\": [\"a\"]}\n{not json", ":2", "not valid JSON")]
    [InlineData("{\"question_id\": 1, \"category\": \"x\"}", ":1", "turns")]
    [InlineData("{\"question_id\": 1, \"turns\": [\"a\"]}\n{\"question_id\": 1, \"turns\": [\"b\"]}", ":2", "duplicate")]
    [InlineData("{\"question_id\": 1, \"turns\": [5]}", ":1", "turns")]
    [InlineData("{\"question_id\": true, \"turns\": [\"a\"]}", ":1", "question_id")]
    [InlineData("[1, 2]", ":1", "object")]
    [InlineData("{\"task_id\": \"T/0\", \"prompt\": \"p\", \"test\": \"t\"}", ":1", "entry_point")]
    [InlineData("", "", "no questions")]
    public void Load_BadInput_NamesFileLineAndField(string content, string line, string what)
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "bad.jsonl");
        File.WriteAllText(path, content);
        var e = Assert.Throws<FrSpecException>(() => QuestionSet.Load(path));
        Assert.Contains(path + line, e.Message);
        Assert.Contains(what, e.Message);
    }
}
