using FrSpec.Benchmarks;
using FrSpec.Generation;

namespace FrSpec.Tests.Benchmarks;

public class SpeedStatsTests
{
    static AnswerRecord Answer(string id, params (int tokens, double seconds, int[] accepts)[] turns) => new()
    {
        QuestionId = id, Category = "c", AnswerId = "a", ModelId = "m",
        Turns = turns.Select(t => new TurnResult
        {
            Text = "", TokenIds = new int[t.tokens], AcceptLengths = t.accepts, WallTime = t.seconds,
            Time = new TimeSplit { DraftLayers = 1, DraftLmHead = 1, Verify = 1 },
        }).ToList(),
    };

    [Fact]
    public void TokensPerSecond_IsSumOfTokensOverSumOfTime_SpecBenchMeanIsPerQuestion()
    {
        var s = SpeedStats.Of(new[]
        {
            Answer("1", (100, 1.0, new[] { 3, 3 }), (50, 1.0, new[] { 1 })),
            Answer("2", (10, 2.0, new[] { 2, 4 })),
        });
        Assert.Equal(160 / 4.0, s.TokensPerSecond, 9);
        Assert.Equal((150 / 2.0 + 10 / 2.0) / 2, s.MeanOfQuestionSpeeds, 9);
        Assert.Equal((3 + 3 + 1 + 2 + 4) / 5.0, s.MeanAcceptLength, 9);
        Assert.Equal(5, s.Steps);
        Assert.Equal(0.5, s.LmHeadShareOfDrafting!.Value, 9);
    }

    [Fact]
    public void Empty_GivesZerosAndNoShare()
    {
        var s = SpeedStats.Of(Array.Empty<AnswerRecord>());
        Assert.Equal(0, s.TokensPerSecond);
        Assert.Equal(0, s.MeanAcceptLength);
        Assert.Null(s.LmHeadShareOfDrafting);
    }

    [Fact]
    public void OutputEquivalence_FindsFirstDifferingTurnAndPosition()
    {
        AnswerRecord A(params int[][] turns) => new()
        {
            QuestionId = "q", Category = "c", AnswerId = "a", ModelId = "m",
            Turns = turns.Select(t => new TurnResult { Text = "", TokenIds = t, AcceptLengths = Array.Empty<int>(), WallTime = 1 }).ToList(),
        };
        Assert.Null(OutputEquivalence.Compare(A(new[] { 1, 2 }, new[] { 3 }), A(new[] { 1, 2 }, new[] { 3 })));
        Assert.Equal(new OutputDifference("q", 2, 1, 2, 2), OutputEquivalence.Compare(A(new[] { 1, 2 }, new[] { 3, 4 }), A(new[] { 1, 2 }, new[] { 3, 5 })));
        Assert.Equal(new OutputDifference("q", 1, 2, 2, 3), OutputEquivalence.Compare(A(new[] { 1, 2 }), A(new[] { 1, 2, 9 })));
        Assert.Equal(new OutputDifference("q", 2, 0, 0, 1), OutputEquivalence.Compare(A(new[] { 1 }), A(new[] { 1 }, new[] { 7 })));
    }

    [Theory]
    [InlineData("vanilla", MethodKind.Vanilla, null)]
    [InlineData("EAGLE2", MethodKind.Eagle2, null)]
    [InlineData("fr:/models/freq_32768.pt", MethodKind.FrSpec, 32768)]
    [InlineData("fr:16384.bin", MethodKind.FrSpec, 16384)]
    [InlineData("eagle2@d4k8t16", MethodKind.Eagle2, null)]
    [InlineData("fr:/m/freq_8192.pt@d2k4t12", MethodKind.FrSpec, 8192)]
    [InlineData("fr-auto:/m/freq_8192.pt;/m/freq_16384.pt", MethodKind.FrAuto, null)]
    public void MethodSpec_Parses(string text, MethodKind kind, int? vocab)
    {
        var m = MethodSpec.Parse(text);
        Assert.Equal(kind, m.Kind);
        Assert.Equal(vocab, m.VocabSizeFromFileName());
        Assert.Equal(m, MethodSpec.Parse(m.ToString()));
        Assert.Equal(text.Contains('@'), m.Tree != null);
    }

    [Fact]
    public void MethodSpec_ReadsTreesAndFileLists()
    {
        var m = MethodSpec.Parse("fr:a.pt@d2k4t12");
        Assert.Equal(new FrSpec.Speculative.TreeOptions { Depth = 2, TopK = 4, TotalTokens = 12 }, m.Tree);
        Assert.Equal("fr-16-d2k4t12", m.Label("fr-16"));
        Assert.Equal(["a.pt", "b.pt"], MethodSpec.Parse("fr-auto:a.pt;b.pt").FrequencyFiles);
        Assert.Equal("fr-auto", MethodSpec.Parse("fr-auto:a.pt;b.pt").Label("fr-auto"));
    }

    [Theory]
    [InlineData("hydra")]
    [InlineData("lookup@d2k4t8")]
    [InlineData("vanilla@d1k1t2")]
    [InlineData("fr-auto:")]
    public void MethodSpec_RejectsUnknown(string text) => Assert.Throws<FrSpecException>(() => MethodSpec.Parse(text));
}
