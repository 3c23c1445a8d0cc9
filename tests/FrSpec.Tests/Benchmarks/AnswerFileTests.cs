using System.Text.Json;
using FrSpec.Benchmarks;
using FrSpec.Generation;

namespace FrSpec.Tests.Benchmarks;

public class AnswerFileTests
{
    static AnswerRecord Sample(string id, long? numeric) => new()
    {
        QuestionId = id,
        NumericQuestionId = numeric,
        Category = "writing",
        AnswerId = AnswerFile.NewAnswerId(),
        ModelId = "m-eagle2-temperature-0.0",
        Tstamp = 1700000000.5,
        Turns = new[]
        {
            new TurnResult { Text = "Hello \"world\"\n", TokenIds = new[] { 5, 6, 7, 2 }, AcceptLengths = new[] { 2, 1 }, WallTime = 0.25,
                PrefillSeconds = 0.05, DecodeSeconds = 0.2, Time = new TimeSplit { DraftLayers = 0.01, DraftLmHead = 0.03, Verify = 0.1, Other = 0.06 }, StoppedByStopId = true },
            new TurnResult { Text = "second", TokenIds = new[] { 8, 9 }, AcceptLengths = new[] { 1 }, WallTime = 0.5 },
        },
    };

    [Fact]
    public void Serialize_UsesSpecBenchFieldNames()
    {
        var json = JsonDocument.Parse(AnswerFile.Serialize(Sample("81", 81))).RootElement;
        Assert.Equal(81, json.GetProperty("question_id").GetInt32());
        Assert.Equal("writing", json.GetProperty("category").GetString());
        Assert.Equal(22, json.GetProperty("answer_id").GetString()!.Length);
        Assert.Equal("m-eagle2-temperature-0.0", json.GetProperty("model_id").GetString());
        Assert.Equal(1700000000.5, json.GetProperty("tstamp").GetDouble());
        var c = json.GetProperty("choices")[0];
        Assert.Equal(0, c.GetProperty("index").GetInt32());
        Assert.Equal(new[] { "Hello \"world\"\n", "second" }, c.GetProperty("turns").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(new[] { 2, 1 }, c.GetProperty("decoding_steps").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(new[] { 4, 2 }, c.GetProperty("new_tokens").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(new[] { 0.25, 0.5 }, c.GetProperty("wall_time").EnumerateArray().Select(e => e.GetDouble()));
        // Spec-Bench's speed.py extends one flat list per answer and averages it.
        Assert.Equal(new[] { 2, 1, 1 }, c.GetProperty("accept_lengths").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(2, c.GetProperty("token_ids").GetArrayLength());
    }

    [Fact]
    public void RoundTrip_KeepsEverything()
    {
        var a = Sample("HumanEval/3", null);
        var back = AnswerFile.Parse(System.Text.Encoding.UTF8.GetString(AnswerFile.Serialize(a)), "x");
        Assert.Equal("HumanEval/3", back.QuestionId);
        Assert.Null(back.NumericQuestionId);
        Assert.Equal(a.Turns.Count, back.Turns.Count);
        for (int i = 0; i < a.Turns.Count; i++)
        {
            Assert.Equal(a.Turns[i].Text, back.Turns[i].Text);
            Assert.Equal(a.Turns[i].TokenIds, back.Turns[i].TokenIds);
            Assert.Equal(a.Turns[i].AcceptLengths, back.Turns[i].AcceptLengths);
            Assert.Equal(a.Turns[i].WallTime, back.Turns[i].WallTime);
            Assert.Equal(a.Turns[i].Time, back.Turns[i].Time);
            Assert.Equal(a.Turns[i].StoppedByStopId, back.Turns[i].StoppedByStopId);
        }
        Assert.True(back.HasTokenIds);
    }

    [Fact]
    public void Parse_ReadsAPlainSpecBenchLine()
    {
        const string line = "{\"question_id\": 81, \"category\": \"writing\", \"answer_id\": \"abc\", \"model_id\": \"vicuna\", \"choices\": [{\"index\": 0, \"turns\": [\"a\", \"b\"], \"decoding_steps\": [2, 1], \"new_tokens\": [5, 2], \"wall_time\": [0.5, 0.25], \"accept_lengths\": [3, 1, 2]}], \"tstamp\": 1.0}";
        var a = AnswerFile.Parse(line, "f:1");
        Assert.False(a.HasTokenIds);
        Assert.Equal(new[] { 3, 1 }, a.Turns[0].AcceptLengths);
        Assert.Equal(new[] { 2 }, a.Turns[1].AcceptLengths);
        Assert.Equal(7, a.NewTokens);
        Assert.Equal(0.75, a.WallTime);
    }

    [Theory]
    [InlineData("{\"question_id\": 1}", "choices")]
    [InlineData("{\"question_id\": 1, \"choices\": [{\"turns\": [\"a\"], \"new_tokens\": [1, 2], \"wall_time\": [1], \"decoding_steps\": [1]}]}", "new_tokens")]
    [InlineData("{\"question_id\": 1, \"choices\": [{\"turns\": [\"a\"], \"new_tokens\": [\"x\"], \"wall_time\": [1], \"decoding_steps\": [1]}]}", "wrong JSON type")]
    [InlineData("{oops", "not valid JSON")]
    public void Parse_BadLine_NamesWhere(string line, string what)
    {
        var e = Assert.Throws<FrSpecException>(() => AnswerFile.Parse(line, "answers.jsonl:7"));
        Assert.Contains("answers.jsonl:7", e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void OpenForAppend_DropsALineCutOffByAnInterruptedRun()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "m.jsonl");
        var f = AnswerFile.OpenForAppend(path);
        f.Append(Sample("1", 1));
        f.Append(Sample("2", 2));
        var full = File.ReadAllBytes(path);
        File.WriteAllBytes(path, full[..^25]); // cut inside the second line
        var reopened = AnswerFile.OpenForAppend(path);
        Assert.True(reopened.Contains("1"));
        Assert.False(reopened.Contains("2"));
        reopened.Append(Sample("2", 2));
        Assert.Equal(new[] { "1", "2" }, AnswerFile.ReadAll(path).Select(a => a.QuestionId));
    }

    [Fact]
    public void OpenForAppend_KeepsACompleteLastLineWithoutNewline()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "m.jsonl");
        File.WriteAllBytes(path, AnswerFile.Serialize(Sample("5", 5)));
        var f = AnswerFile.OpenForAppend(path);
        Assert.True(f.Contains("5"));
        f.Append(Sample("6", 6));
        Assert.Equal(new[] { "5", "6" }, AnswerFile.ReadAll(path).Select(a => a.QuestionId));
    }
}
