using FrSpec.Text;

namespace FrSpec.Tests.Text;

/// <summary>Stop sequences over split text, and tool calls found (or not) in answers.</summary>
public class StreamingAnswerTests
{
    [Fact]
    public void AStopSequenceSplitAcrossPiecesIsCutAndNeverEmitted()
    {
        var filter = new StopSequenceFilter(["END", "xyz"]);
        var pieces = new[] { "Hello E", "N", "not yet ", "E", "ND and more" }.Select(filter.Push).ToList();
        Assert.Equal("Hello ENnot yet ", string.Concat(pieces));
        Assert.Equal("Hello ", pieces[0]); // the "E" that may start "END" is held back
        Assert.True(filter.Stopped);
        Assert.Equal("END", filter.Matched);
        Assert.Equal("", filter.Push("after"));
        Assert.Equal("", filter.Flush());
    }

    [Fact]
    public void TextThatOnlyLookedLikeAStopIsReleased()
    {
        var filter = new StopSequenceFilter(["</s>"]);
        Assert.Equal("a", filter.Push("a</"));
        Assert.Equal("</b", filter.Push("b"));
        Assert.Equal("", filter.Push("<"));
        Assert.Equal("<", filter.Flush());
        Assert.False(filter.Stopped);
    }

    [Fact]
    public void BadStopSequencesAreRefused()
    {
        Assert.Throws<FrSpecException>(() => new StopSequenceFilter([""]));
        Assert.Throws<FrSpecException>(() => new StopSequenceFilter(Enumerable.Repeat("x", 17)));
    }

    [Theory]
    [InlineData("<tool_call>{\"name\": \"a\", \"arguments\": {\"x\": 1}}</tool_call>\n<tool_call>{\"name\": \"b\", \"arguments\": \"{\\\"y\\\": 2}\"}</tool_call>", "", "a,b")]
    [InlineData("Sure. <tool_call>\n{\"name\": \"a\", \"arguments\": {}}", "Sure.", "a")]
    [InlineData("{\"name\": \"a\", \"parameters\": {\"q\": \"z\"}}", "", "a")]
    [InlineData("<tool_call>{\"name\": \"a\", \"arguments\": [1]}</tool_call>", null, "")]
    [InlineData("<tool_call>not json</tool_call>", null, "")]
    [InlineData("{\"answer\": 42}", null, "")]
    [InlineData("Plain text.", null, "")]
    public void ToolCallsAreParsedOrLeftAsText(string text, string? content, string names)
    {
        var (actual, calls) = ToolCallParser.Parse(text);
        Assert.Equal(content ?? text, actual);
        Assert.Equal(names, string.Join(",", calls.Select(c => c.Name)));
        Assert.All(calls, c => Assert.Equal(System.Text.Json.JsonValueKind.Object, System.Text.Json.JsonDocument.Parse(c.Arguments).RootElement.ValueKind));
        Assert.Equal(Enumerable.Range(0, calls.Count).Select(i => $"call_{i}"), calls.Select(c => c.Id));
    }
}
