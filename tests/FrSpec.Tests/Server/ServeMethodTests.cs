using System.ClientModel;
using System.Text.RegularExpressions;
using FrSpec.Tests.Cli;
using OpenAI;
using OpenAI.Chat;

namespace FrSpec.Tests.Server;

/// <summary>
/// `frspec serve --method`: servers decoding with prompt lookup and with the demo pair's EAGLE head (the automatic
/// tree, FR-Spec) answer greedy requests exactly as the vanilla server does, through the official OpenAI client and
/// raw HTTP, and say which method answered; a bad --method is a one-line error before anything is served.
/// </summary>
public class ServeMethodTests
{
    private const string Question = "Write about a lighthouse keeper.";

    /// <summary>A server process on a free port, with the address it printed.</summary>
    private static (CliProcess Process, Uri Address) Serve(params string[] args)
    {
        var serve = new CliProcess(["serve", "--model", ServerFixture.Demo("target"), "--port", "0", "--drain-seconds", "0", "--quiet", "--model-id", "demo", .. args]);
        string line = serve.WaitForStderr(l => l.Contains(" on http://"));
        return (serve, new Uri(Regex.Match(line, @"http://\S+/").Value));
    }

    /// <summary>The greedy chat answer (OpenAI client) and the greedy completion, with the method that served it (raw HTTP).</summary>
    private static async Task<(string Chat, string Completion, string Method)> Ask(Uri address)
    {
        var client = new ChatClient("demo", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(address, "/v1") });
        ChatCompletion chat = await client.CompleteChatAsync([new UserChatMessage(Question)], new ChatCompletionOptions { MaxOutputTokenCount = 32, Temperature = 0 });
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
        var (status, completion, _) = await ServerFixture.Post(http, "/v1/completions",
            """{"prompt": "The history of the printing press", "max_tokens": 32, "temperature": 0}""");
        Assert.Equal(200, status);
        return (chat.Content[0].Text, completion.GetProperty("choices")[0].GetProperty("text").GetString()!,
            completion.GetProperty("usage").GetProperty("frspec").GetProperty("method").GetString()!);
    }

    [Fact]
    public async Task NonDefaultMethodsAnswerLikeTheVanillaServer()
    {
        // three servers at once: vanilla, prompt lookup, and EAGLE-2 with FR-Spec under the automatic tree
        var (vanilla, vanillaAt) = Serve();
        var (lookup, lookupAt) = Serve("--method", "lookup", "--lookup-tokens", "6");
        var (eagle, eagleAt) = Serve("--method", "eagle2", "--eagle", ServerFixture.Demo("eagle"), "--fr-size", "8192");
        try
        {
            var expected = await Ask(vanillaAt);
            Assert.Equal("vanilla", expected.Method);
            Assert.False(string.IsNullOrEmpty(expected.Chat));
            foreach (var (at, method) in new[] { (lookupAt, "lookup"), (eagleAt, "fr-8192") })
            {
                var actual = await Ask(at);
                Assert.Equal(method, actual.Method);
                Assert.Equal(expected.Chat, actual.Chat);
                Assert.Equal(expected.Completion, actual.Completion);
            }
            Assert.Contains("(lookup)", lookup.Stderr);
            Assert.Contains("(fr-8192)", eagle.Stderr);
        }
        finally
        {
            foreach (var p in new[] { vanilla, lookup, eagle })
            {
                p.Signal(CliProcess.SigTerm);
                Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)), "a server did not exit after SIGTERM");
                p.Dispose();
            }
        }
    }

    [Theory]
    [InlineData("nonsense", "--method nonsense: expected vanilla, ")]
    [InlineData("draft", "method draft needs --draft-model")]
    public void BadMethodIsAOneLineError(string method, string message)
    {
        var (code, stdout, stderr) = CliProcess.Run("serve", "--model", ServerFixture.Demo("target"), "--port", "0", "--method", method);
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(message, line);
    }
}
