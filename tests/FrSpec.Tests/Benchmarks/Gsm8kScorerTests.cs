using FrSpec.Benchmarks;

namespace FrSpec.Tests.Benchmarks;

public class Gsm8kScorerTests
{
    [Theory]
    [InlineData("so 99+10 = <<99+10=109>>109\n#### 109", "109")]
    [InlineData("total\n#### 1,000", "1000")]
    [InlineData("#### -3", "-3")]
    [InlineData("#### 2.5", "2.5")]
    [InlineData("#### $18", "18")]
    public void ExtractReference_TakesTheNumberAfterHashes(string reference, string expected)
        => Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), Gsm8kScorer.ExtractReference(reference));

    [Fact]
    public void ExtractReference_NullWithoutHashes() => Assert.Null(Gsm8kScorer.ExtractReference("the answer is 5"));

    [Theory]
    [InlineData("First 3 + 4 = 7, then 7 * 2 = 14. The answer is 14.", "14")]
    [InlineData("The answer is $1,234.", "1234")]
    [InlineData("the answer is: **42**", "42")]
    [InlineData("The answer is 5. Check: 2 + 3 = 5, and 10 - 5 = 5 apples over 3 days", "5")] // stated answer wins over later numbers
    [InlineData("She pays $1,000.50 in total", "1000.50")]
    [InlineData("He ends with -4 degrees.", "-4")]
    [InlineData("So it costs 600+400 = 1000", "1000")]
    [InlineData("It takes 3-4 days", "4")]
    [InlineData("10 - 5", "5")]
    public void ExtractPrediction_FindsTheFinalAnswer(string answer, string expected)
        => Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), Gsm8kScorer.ExtractPrediction(answer));

    [Fact]
    public void ExtractPrediction_NullWithoutNumbers() => Assert.Null(Gsm8kScorer.ExtractPrediction("I do not know."));

    [Fact]
    public void IsCorrect_ComparesByValue()
    {
        Assert.True(Gsm8kScorer.IsCorrect("The answer is 1,000.00", "#### 1000"));
        Assert.False(Gsm8kScorer.IsCorrect("The answer is 999", "#### 1000"));
        Assert.False(Gsm8kScorer.IsCorrect("no idea", "#### 1000"));
    }

    [Fact]
    public void EveryGsm8kReference_ScoresItselfCorrect()
    {
        // A worked solution's last number is its "#### N" answer, so each reference, read as an answer, is correct.
        var set = QuestionSet.Load(RepoFiles.Data("gsm8k_80.jsonl"));
        Assert.All(set.Questions, q => Assert.True(Gsm8kScorer.IsCorrect(q.References[0], q.References[0]), q.Id));
    }
}
