using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Tests.Server;
namespace FrSpec.Tests.Sessions;

/// <summary>A session reused after a longer conversation answers the first prompt again exactly (stale KV slots or
/// scores from the earlier, longer sequence must never leak into a later one).</summary>
public class SessionReuseTests
{
    [Fact]
    public void SessionReuseGivesTheSameAnswer()
    {
        using var model = LanguageModel.Load(ServerFixture.Demo("target"));
        using var session = model.CreateSession();
        var o = new GenerationOptions { MaxNewTokens = 12 };
        var p1 = model.Vocabulary.EncodeChat([new("system", "Be brief."), new("user", "Hello there")]);
        var a = session.Generate(p1, o).Ids;
        var p2 = model.Vocabulary.EncodeChat([new("system", "Be brief."), new("user", "Hello there"), new("assistant", "x y z"), new("user", "And then?")]);
        session.Generate(p2, o);
        var c = session.Generate(p1, o).Ids;
        Assert.Equal(a, c);
    }
}
