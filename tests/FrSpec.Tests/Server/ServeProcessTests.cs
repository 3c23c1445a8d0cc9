using System.Text.Json;
using System.Text.RegularExpressions;
using FrSpec.Tests.Cli;

namespace FrSpec.Tests.Server;

/// <summary>
/// `frspec serve` as its own process, with FR-Spec decoding on the demo pair: its answers equal `frspec generate` for
/// the same settings and seed (greedy and sampled), and SIGTERM ends it cleanly (exit code 0) while a stream is running.
/// `frspec generate` reads its prompt from standard input when none is given.
/// </summary>
public class ServeProcessTests
{
    // a fixed tree: the automatic one adapts to each session's history, so a sampled answer (and any accepted length)
    // depends on what the session decoded before
    private static readonly string[] Method = ["--eagle", ServerFixture.Demo("eagle"), "--fr-size", "8192", "--tree", "fixed"];

    private static JsonElement Generate(params string[] args)
    {
        using var p = new CliProcess(["generate", "--model", ServerFixture.Demo("target"), "--json", .. args]);
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)), "generate did not finish");
        Assert.True(p.ExitCode == 0, p.Stderr);
        return JsonDocument.Parse(p.Stdout).RootElement.Clone();
    }

    [Fact]
    public async Task ServeAnswersLikeGenerateAndStopsCleanlyOnSigterm()
    {
        using var serve = new CliProcess(["serve", "--model", ServerFixture.Demo("target"), .. Method, "--port", "0", "--drain-seconds", "1", "--quiet", "--model-id", "demo"]);
        string line = serve.WaitForStderr(l => l.Contains(" on http://"));
        var address = new Uri(Regex.Match(line, @"http://\S+/").Value);
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };

        const string Question = "Write about a lighthouse keeper.";
        var greedy = Generate([.. Method, "--chat", "--max-tokens", "24", Question]);
        var (status, chat, _) = await ServerFixture.Post(http, "/v1/chat/completions",
            $$"""{"messages": [{"role": "user", "content": "{{Question}}"}], "max_tokens": 24, "temperature": 0}""");
        Assert.Equal(200, status);
        Assert.Equal(greedy.GetProperty("text").GetString(), chat.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(greedy.GetProperty("new_tokens").GetInt32(), chat.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("fr-8192", chat.GetProperty("usage").GetProperty("frspec").GetProperty("method").GetString());
        Assert.Equal(greedy.GetProperty("mean_accept_length").GetDouble(), chat.GetProperty("usage").GetProperty("frspec").GetProperty("mean_accepted_length").GetDouble());

        var sampled = Generate([.. Method, "--max-tokens", "24", "--temperature", "0.8", "--top-p", "0.9", "--seed", "5", "Once upon a time"]);
        var (_, completion, _) = await ServerFixture.Post(http, "/v1/completions",
            """{"prompt": "Once upon a time", "max_tokens": 24, "temperature": 0.8, "top_p": 0.9, "top_k": 0, "seed": 5}""");
        Assert.Equal(sampled.GetProperty("text").GetString(), completion.GetProperty("choices")[0].GetProperty("text").GetString());

        // a long stream is running when SIGTERM comes: the server drains for a second, cancels it, and exits 0
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent("""{"prompt": "Once upon a time", "max_tokens": 3900, "temperature": 0, "stream": true}"""),
        };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.StartsWith("data: ", await reader.ReadLineAsync());
        serve.Signal(CliProcess.SigTerm);
        Assert.True(serve.WaitForExit(TimeSpan.FromSeconds(30)), "the server did not exit after SIGTERM");
        Assert.Equal(0, serve.ExitCode);
        Assert.Contains("frspec serve: stopped", serve.Stderr);
        string rest;
        try { rest = await reader.ReadToEndAsync(); }
        catch (IOException) { rest = ""; } // the connection closed under the reader
        Assert.DoesNotContain("\"finish_reason\":\"length\"", rest); // it was cut short, not completed
    }

    [Fact]
    public void GenerateReadsThePromptFromStandardInput()
    {
        var expected = Generate("--max-tokens", "8", "The history of the printing press");
        using var p = new CliProcess("generate", "--model", ServerFixture.Demo("target"), "--json", "--max-tokens", "8");
        p.WriteLine("The history of the printing press");
        p.CloseInput();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)));
        Assert.True(p.ExitCode == 0, p.Stderr);
        var actual = JsonDocument.Parse(p.Stdout).RootElement;
        Assert.Equal(expected.GetProperty("ids").ToString(), actual.GetProperty("ids").ToString());
        Assert.Equal(expected.GetProperty("prompt_tokens").GetInt32(), actual.GetProperty("prompt_tokens").GetInt32());
    }
}
