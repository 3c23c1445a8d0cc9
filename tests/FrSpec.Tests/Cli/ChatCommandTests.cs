using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Tests.Server;

namespace FrSpec.Tests.Cli;

/// <summary>
/// `frspec chat` driven through its standard input and output: multi-turn answers streamed through the chat template,
/// /reset, /exit, and Ctrl-C (SIGINT) stopping the answer in progress without ending the chat.
/// </summary>
public class ChatCommandTests
{
    [Fact]
    public void ConversationResetAndExit()
    {
        using var p = new CliProcess("chat", "--model", ServerFixture.Demo("target"), "--max-tokens", "12", "--temperature", "0", "--system", "Be brief.");
        p.WriteLine("Hello there");
        p.WaitForStderr(l => l.StartsWith("[vanilla: "));
        p.WriteLine("And then?");
        p.WaitForStderr(l => l.StartsWith("[vanilla: "));
        p.WriteLine("/reset");
        p.WaitForStderr(l => l == "[conversation reset]");
        p.WriteLine("Hello there");
        p.WaitForStderr(l => l.StartsWith("[vanilla: "));
        p.WriteLine("/exit");
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, p.ExitCode);

        // the first and the last answer (after /reset) are the same greedy answer to the same conversation
        using var model = LanguageModel.Load(ServerFixture.Demo("target"));
        using var session = model.CreateSession();
        var ids = session.Generate(model.Vocabulary.EncodeChat([new("system", "Be brief."), new("user", "Hello there")]), new GenerationOptions { MaxNewTokens = 12 }).Ids;
        string answer = model.Vocabulary.Decode(ids);
        string stdout = p.Stdout;
        Assert.StartsWith(answer + "\n", stdout);
        Assert.EndsWith("\n" + answer + "\n", stdout);
        Assert.Equal(3, p.Stderr.Split('\n').Count(l => l.StartsWith("[vanilla: 12 tokens")));
    }

    [Fact]
    public void CtrlCStopsTheAnswerAndTheChatGoesOn()
    {
        using var p = new CliProcess("chat", "--model", ServerFixture.Demo("target"), "--max-tokens", "4000", "--temperature", "0");
        foreach (string question in new[] { "Tell me a long story.", "Another one." })
        {
            int before = p.Stdout.Length;
            p.WriteLine(question);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (p.Stdout.Length < before + 20 && DateTime.UtcNow < deadline && !p.HasExited) Thread.Sleep(20); // the answer is streaming
            Assert.False(p.HasExited, $"chat exited with {(p.HasExited ? p.ExitCode : 0)}: {p.Stderr}");
            p.Signal(CliProcess.SigInt);
            p.WaitForStderr(l => l == "[stopped]" || l.StartsWith("[vanilla: "));
            Assert.False(p.HasExited); // the chat goes on with the next question
        }
        Assert.Equal(2, p.Stderr.Split('\n').Count(l => l == "[stopped]"));
        p.CloseInput(); // end of input quits
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, p.ExitCode);
    }

    [Fact]
    public void AConversationLongerThanTheContextIsRefusedAndTheChatGoesOn()
    {
        using var p = new CliProcess("chat", "--model", ServerFixture.Demo("target"), "--max-tokens", "8", "--temperature", "0");
        p.WriteLine(string.Join(" ", Enumerable.Repeat("ocean", 4200)));
        p.WaitForStderr(l => l.StartsWith("[the conversation fills the model's context of 4096 tokens"));
        p.WriteLine("Hi");
        p.WaitForStderr(l => l.StartsWith("[vanilla: "));
        p.WriteLine("/exit");
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, p.ExitCode);
    }
}
