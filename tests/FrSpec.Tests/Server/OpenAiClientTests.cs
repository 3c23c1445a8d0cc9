using System.ClientModel;
using System.Text;
using FrSpec.Generation;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using AI = Microsoft.Extensions.AI;

namespace FrSpec.Tests.Server;

/// <summary>
/// Real clients against the live server: the official OpenAI .NET client (2.15.0) and Microsoft.Extensions.AI.OpenAI's
/// IChatClient (10.11.0), streaming and not. Their answers equal the greedy generation of the same conversation.
/// </summary>
public class OpenAiClientTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string System = "You answer in one sentence.", User = "What is a lighthouse?";

    private ChatClient OpenAiChat() => new(ServerFixture.ModelId, new ApiKeyCredential("unused"),
        new OpenAIClientOptions { Endpoint = new Uri(server.Address, "/v1") });

    private (string Text, int Tokens) Expected(int maxTokens)
    {
        var prompt = server.Model.Vocabulary.EncodeChat([new("system", System), new("user", User)]);
        using var session = server.Model.CreateSession();
        var ids = session.Generate(prompt, new GenerationOptions { MaxNewTokens = maxTokens }).Ids;
        return (server.Model.Vocabulary.Decode(ids), ids.Length);
    }

    [Fact]
    public async Task OfficialOpenAiClientCompletesAndStreams()
    {
        var client = OpenAiChat();
        var (text, tokens) = Expected(20);
        OpenAI.Chat.ChatMessage[] messages = [new SystemChatMessage(System), new UserChatMessage(User)];
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 20, Temperature = 0 };

        ChatCompletion completion = await client.CompleteChatAsync(messages, options);
        Assert.Equal(text, completion.Content[0].Text);
        Assert.Equal(tokens, completion.Usage.OutputTokenCount);
        Assert.Equal(ServerFixture.ModelId, completion.Model);
        Assert.Equal(tokens == 20 ? OpenAI.Chat.ChatFinishReason.Length : OpenAI.Chat.ChatFinishReason.Stop, completion.FinishReason);

        var streamed = new StringBuilder();
        ChatTokenUsage? usage = null;
        OpenAI.Chat.ChatFinishReason? finish = null;
        int updates = 0;
        await foreach (var update in client.CompleteChatStreamingAsync(messages, options))
        {
            updates++;
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }
        Assert.Equal(text, streamed.ToString());
        Assert.True(updates > 3);
        Assert.Equal(completion.FinishReason, finish);
        Assert.Equal(tokens, usage?.OutputTokenCount); // the client asks for usage in streams (stream_options.include_usage)
    }

    [Fact]
    public async Task OfficialOpenAiClientSeesErrorsAsExceptions()
    {
        var client = new ChatClient("no-such-model", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.Address, "/v1") });
        var e = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage(User)]));
        Assert.Equal(404, e.Status);
        Assert.Contains("no-such-model", e.Message);
    }

    [Fact]
    public async Task ExtensionsAiOpenAiChatClientCompletesAndStreams()
    {
        IChatClient client = OpenAiChat().AsIChatClient();
        var (text, tokens) = Expected(16);
        AI.ChatMessage[] messages = [new(ChatRole.System, System), new(ChatRole.User, User)];
        var options = new ChatOptions { MaxOutputTokens = 16, Temperature = 0 };

        var response = await client.GetResponseAsync(messages, options);
        Assert.Equal(text, response.Text);
        Assert.Equal(tokens, response.Usage?.OutputTokenCount);
        Assert.NotNull(response.FinishReason);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(messages, options)) updates.Add(update);
        Assert.Equal(text, string.Concat(updates.Select(u => u.Text)));
        var streamed = updates.ToChatResponse();
        Assert.Equal(response.FinishReason, streamed.FinishReason);

        // sampled, with a seed: repeatable, and equal through both paths
        var sampled = new ChatOptions { MaxOutputTokens = 16, Temperature = 0.8f, TopP = 0.9f, Seed = 42 };
        var first = await client.GetResponseAsync(messages, sampled);
        var second = await client.GetResponseAsync(messages, sampled);
        Assert.Equal(first.Text, second.Text);
        var prompt = server.Model.Vocabulary.EncodeChat([new("system", System), new("user", User)]);
        using var session = server.Model.CreateSession();
        var config = server.Model.Vocabulary.GenerationConfig.Sampling; // top_k of generation_config.json applies when not given
        var ids = session.Generate(prompt, new GenerationOptions { MaxNewTokens = 16, Sampling = new SamplingOptions(0.8f, config.TopK, 0.9f, 42) }).Ids;
        Assert.Equal(server.Model.Vocabulary.Decode(ids), first.Text);
    }
}
