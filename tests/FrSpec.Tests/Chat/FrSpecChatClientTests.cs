using System.Text.Json;
using FrSpec.Chat;
using FrSpec.Generation;
using FrSpec.Sessions;
using FrSpec.Tests.Server;
using Microsoft.Extensions.AI;
using AI = Microsoft.Extensions.AI;

namespace FrSpec.Tests.Chat;

/// <summary>
/// The engine's IChatClient on the demo model: answers equal the session's generation of the templated conversation
/// under the same settings (ChatOptions mapped to sampling, budget, stop sequences, instructions, tools), usage and the
/// decoding statistics are reported, and a speculative client gives vanilla's greedy answer.
/// </summary>
public sealed class FrSpecChatClientTests : IDisposable
{
    private readonly LanguageModel _model = LanguageModel.Load(ServerFixture.Demo("target"));
    private static readonly AI.ChatMessage[] Conversation = [new(ChatRole.System, "Be brief."), new(ChatRole.User, "Describe a forest.")];

    public void Dispose() => _model.Dispose();

    private int[] Prompt(IReadOnlyList<FrSpec.Text.ChatTool>? tools = null) =>
        _model.Vocabulary.EncodeChat([new("system", "Be brief."), new("user", "Describe a forest.")], tools);

    private int[] Generate(int[] prompt, int max, SamplingOptions? sampling = null)
    {
        using var session = _model.CreateSession();
        return session.Generate(prompt, new GenerationOptions { MaxNewTokens = max, Sampling = sampling ?? SamplingOptions.Greedy }).Ids;
    }

    [Fact]
    public async Task GreedyResponseEqualsTheSessionWithUsageAndStatistics()
    {
        using var client = new FrSpecChatClient(_model, modelId: "demo");
        var response = await client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 0, MaxOutputTokens = 24 });
        var ids = Generate(Prompt(), 24);
        Assert.Equal(_model.Vocabulary.Decode(ids), response.Text);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
        Assert.Equal("demo", response.ModelId);
        Assert.Equal(Prompt().Length, response.Usage!.InputTokenCount);
        Assert.Equal(ids.Length, response.Usage.OutputTokenCount);
        Assert.Equal(ids.Length == 24 ? ChatFinishReason.Length : ChatFinishReason.Stop, response.FinishReason);
        var stats = response.AdditionalProperties!;
        Assert.Equal("vanilla", stats[FrSpecChatClient.StatisticsKeys.Method]);
        Assert.Equal(1.0, (double)stats[FrSpecChatClient.StatisticsKeys.MeanAcceptedLength]!);
        Assert.True((double)stats[FrSpecChatClient.StatisticsKeys.DecodeSeconds]! > 0);
        Assert.Equal("frspec", client.GetService<ChatClientMetadata>()!.ProviderName);
        Assert.Same(_model, client.GetService<LanguageModel>());
    }

    [Fact]
    public async Task StreamingUpdatesCarryTheSameTextThenUsageAndFinishReason()
    {
        using var client = new FrSpecChatClient(_model);
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 20 };
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(Conversation, options)) updates.Add(u);
        Assert.Equal(_model.Vocabulary.Decode(Generate(Prompt(), 20)), string.Concat(updates.Select(u => u.Text)));
        Assert.True(updates.Count > 3);
        var last = updates[^1];
        Assert.NotNull(last.FinishReason);
        Assert.Single(last.Contents.OfType<UsageContent>());
        Assert.Contains(FrSpecChatClient.StatisticsKeys.TokensPerSecond, last.AdditionalProperties!.Keys);
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
    }

    [Fact]
    public async Task SamplingOptionsMapToTheSessionsSampling()
    {
        using var client = new FrSpecChatClient(_model);
        var response = await client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 0.9f, TopP = 0.8f, TopK = 40, Seed = 7, MaxOutputTokens = 24 });
        Assert.Equal(_model.Vocabulary.Decode(Generate(Prompt(), 24, new SamplingOptions(0.9f, 40, 0.8f, 7))), response.Text);
        var again = await client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 0.9f, TopP = 0.8f, TopK = 40, Seed = 7, MaxOutputTokens = 24 });
        Assert.Equal(response.Text, again.Text);
    }

    [Fact]
    public async Task StopSequencesCutTheAnswerAndInstructionsBecomeTheSystemMessage()
    {
        using var client = new FrSpecChatClient(_model);
        string full = _model.Vocabulary.Decode(Generate(Prompt(), 30));
        string stop = full.Substring(full.Length / 2, 3);
        var response = await client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 0, MaxOutputTokens = 30, StopSequences = [stop] });
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);

        var instructed = await client.GetResponseAsync([new AI.ChatMessage(ChatRole.User, "Describe a forest.")],
            new ChatOptions { Temperature = 0, MaxOutputTokens = 30, Instructions = "Be brief." });
        Assert.Equal(full, instructed.Text);
    }

    [Fact]
    public async Task ToolsReachTheTemplateUnlessToolModeIsNone()
    {
        using var client = new FrSpecChatClient(_model);
        var schema = JsonDocument.Parse("""{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}""").RootElement;
        var weather = new Declaration("get_weather", "Current weather of a city", schema);
        var withTools = await client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 0, MaxOutputTokens = 4, Tools = [weather] });
        var expected = Prompt([FrSpec.Text.ChatTool.Function("get_weather", "Current weather of a city", schema)]);
        Assert.Equal(expected.Length, withTools.Usage!.InputTokenCount);
        Assert.Contains("get_weather", _model.Vocabulary.Decode(expected, skipSpecialTokens: false));
        var none = await client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 0, MaxOutputTokens = 4, Tools = [weather], ToolMode = ChatToolMode.None });
        Assert.Equal(Prompt().Length, none.Usage!.InputTokenCount);
    }

    [Fact]
    public async Task SpeculativeClientGivesVanillasGreedyAnswerWithItsStatistics()
    {
        var fr = _model.Vocabulary.FindDraftVocabulary(8192, ServerFixture.Demo("eagle"));
        using var client = new FrSpecChatClient(_model, DecodingMethod.Eagle(ServerFixture.Demo("eagle"), fr));
        var response = await client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 0, MaxOutputTokens = 32 });
        Assert.Equal(_model.Vocabulary.Decode(Generate(Prompt(), 32)), response.Text);
        Assert.Equal("fr-8192", response.AdditionalProperties![FrSpecChatClient.StatisticsKeys.Method]);
        Assert.True((double)response.AdditionalProperties[FrSpecChatClient.StatisticsKeys.MeanAcceptedLength]! > 1.0);
        Assert.True((double)response.AdditionalProperties[FrSpecChatClient.StatisticsKeys.DraftLmHeadSeconds]! > 0);
    }

    [Fact]
    public async Task UnsupportedOptionsAndCancellationAreReported()
    {
        using var client = new FrSpecChatClient(_model);
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(Conversation, new ChatOptions { PresencePenalty = 0.5f }));
        await Assert.ThrowsAsync<FrSpecException>(() => client.GetResponseAsync(Conversation, new ChatOptions { MaxOutputTokens = 10_000 }));
        using var cts = new CancellationTokenSource();
        int seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync(Conversation, new ChatOptions { Temperature = 0, MaxOutputTokens = 2000 }, cts.Token))
                if (++seen == 3) cts.Cancel();
        });
        Assert.InRange(seen, 3, 4);
    }

    private sealed class Declaration(string name, string description, JsonElement schema) : AIFunctionDeclaration
    {
        public override string Name => name;
        public override string Description => description;
        public override JsonElement JsonSchema => schema;
    }
}
