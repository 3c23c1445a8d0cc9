using FrSpec.Benchmarks;

namespace FrSpec.Tests.Benchmarks;

public class HumanEvalScorerTests
{
    static readonly QuestionSet Set = QuestionSet.Load(RepoFiles.Data("human_eval.jsonl"));
    static HumanEvalProblem Problem(int i) => Set.Questions[i].HumanEval!;
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public void ExtractCode_PrefersTheFencedBlockDefiningTheEntryPoint()
    {
        var p = Problem(0);
        var answer = "Here is a helper:\n```python\nimport math\n```\nAnd the solution:\n```python\ndef has_close_elements(numbers, threshold):\n    return False\n```\nDone.";
        Assert.StartsWith("def has_close_elements", HumanEvalScorer.ExtractCode(p, answer));
        Assert.Equal("import math\n", HumanEvalScorer.ExtractCode(p, "```py\nimport math\n```"));
        Assert.Equal("x = 1\n", HumanEvalScorer.ExtractCode(p, "Sure:\n```python\nx = 1\n")); // unclosed fence (budget ran out)
        Assert.Equal("    return 1\n", HumanEvalScorer.ExtractCode(p, "    return 1\n"));
    }

    [Fact]
    public void BuildProgram_CompletionContinuesThePrompt_FunctionFollowsIt()
    {
        var p = Problem(0);
        var body = HumanEvalScorer.BuildProgram(p, p.CanonicalSolution);
        Assert.StartsWith(p.Prompt + p.CanonicalSolution, body);
        Assert.EndsWith("check(has_close_elements)\n", body);
        var full = HumanEvalScorer.BuildProgram(p, "```python\ndef has_close_elements(a, b):\n    return True\n```");
        Assert.Contains(p.Prompt + "\n\ndef has_close_elements(a, b):", full);
    }

    [Fact]
    public void Run_CanonicalSolutionsPass_WrongOnesFail()
    {
        var (available, detail) = HumanEvalScorer.ProbePython();
        if (!available)
        {
            // Without python3 the scorer must say so rather than crash.
            var outcome = HumanEvalScorer.Run("print(1)", Timeout);
            Assert.False(outcome.Passed);
            return;
        }
        Assert.StartsWith("Python 3", detail);
        for (int i = 0; i < 6; i++)
        {
            var p = Problem(i);
            // As a completion of the prompt, as a chat answer in a fence, and as a full function without the prompt's imports.
            Assert.True(HumanEvalScorer.Run(HumanEvalScorer.BuildProgram(p, p.CanonicalSolution), Timeout).Passed, p.TaskId);
            var fenced = $"Here you go:\n```python\n{p.Prompt}{p.CanonicalSolution}```\nThis works because...";
            Assert.True(HumanEvalScorer.Run(HumanEvalScorer.BuildProgram(p, fenced), Timeout).Passed, p.TaskId + " fenced");
        }
        var p0 = Problem(0);
        var wrong = HumanEvalScorer.Run(HumanEvalScorer.BuildProgram(p0, "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```"), Timeout);
        Assert.False(wrong.Passed);
        Assert.Contains("AssertionError", wrong.Detail);
        var prose = HumanEvalScorer.Run(HumanEvalScorer.BuildProgram(p0, "I would loop over all pairs."), Timeout);
        Assert.False(prose.Passed);
    }

    [Fact]
    public void Run_KillsAProgramThatRunsPastTheTimeout()
    {
        if (!HumanEvalScorer.ProbePython().Available) return;
        var outcome = HumanEvalScorer.Run("while True:\n    pass\n", TimeSpan.FromSeconds(1));
        Assert.False(outcome.Passed);
        Assert.Contains("timed out", outcome.Detail);
    }

    [Fact]
    public void ProbePython_ReportsAMissingInterpreter()
    {
        var (available, detail) = HumanEvalScorer.ProbePython("python3-that-does-not-exist");
        Assert.False(available);
        Assert.Contains("not found", detail);
    }
}
