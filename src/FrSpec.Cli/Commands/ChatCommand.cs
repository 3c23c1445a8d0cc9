using System.CommandLine;
using FrSpec.Chat;
using FrSpec.Cli.Support;
using Microsoft.Extensions.AI;

namespace FrSpec.Cli.Commands;

/// <summary>
/// `frspec chat`: an interactive multi-turn conversation in the terminal through the model's chat template, answers
/// streamed as they are generated. /reset starts over (keeping the system prompt), /exit or end of input quits, and
/// Ctrl-C stops the answer in progress (within one decoding step) without leaving the chat.
/// </summary>
public sealed class ChatCommand : ICliVerb
{
    public Command Create()
    {
        var models = new ModelOptions();
        var system = new Option<string?>("--system") { Description = "System prompt" };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Most tokens per answer (default: the model's generation_config.json, else the rest of the context)" };
        var temperature = new Option<float?>("--temperature") { Description = "Sampling temperature, 0 = greedy (default: the model's generation_config.json)" };
        var topP = new Option<float?>("--top-p") { Description = "Nucleus sampling mass (default: the model's)" };
        var topK = new Option<int?>("--top-k") { Description = "Keep the k most probable tokens (default: the model's)" };
        var seed = new Option<long?>("--seed") { Description = "Sampling seed (default: a random one per answer)" };
        var cmd = new Command("chat", "Chat with the model in the terminal (/reset, /exit; Ctrl-C stops an answer)")
        {
            system, maxTokens, temperature, topP, topK, seed,
        };
        models.AddTo(cmd);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var (model, method, _) = models.Load(pr);
            using var __ = model;
            using var engine = new ChatEngine(model, method);
            using var client = new FrSpecChatClient(engine);
            var options = new ChatOptions
            {
                MaxOutputTokens = pr.GetValue(maxTokens), Temperature = pr.GetValue(temperature), TopP = pr.GetValue(topP),
                TopK = pr.GetValue(topK), Seed = pr.GetValue(seed),
            };
            return Run(engine, client, method.Name, pr.GetValue(system), options);
        }));
        return cmd;
    }

    private static int Run(ChatEngine engine, IChatClient client, string method, string? system, ChatOptions options)
    {
        var history = new List<ChatMessage>();
        void Reset()
        {
            history.Clear();
            if (!string.IsNullOrEmpty(system)) history.Add(new ChatMessage(ChatRole.System, system));
        }
        Reset();
        bool interactive = !Console.IsInputRedirected;
        CancellationTokenSource? answering = null;
        // Ctrl-C while an answer streams stops that answer; at the prompt it quits as usual.
        Console.CancelKeyPress += (_, e) =>
        {
            var current = Volatile.Read(ref answering);
            if (current == null) return;
            e.Cancel = true;
            current.Cancel();
        };
        if (interactive) Console.Error.WriteLine("frspec chat: /reset starts over, /exit quits, Ctrl-C stops an answer");
        while (true)
        {
            if (interactive) Console.Write("> ");
            string? line = Console.ReadLine();
            if (line == null || line.Trim() == "/exit") return 0;
            if (line.Trim() == "/reset")
            {
                Reset();
                Console.Error.WriteLine("[conversation reset]");
                continue;
            }
            if (line.Trim().Length == 0) continue;
            history.Add(new ChatMessage(ChatRole.User, line));
            // --max-tokens is a ceiling: a long conversation leaves less room in the context for the answer
            int room;
            try { room = engine.ContextLength - engine.EncodeChat(ChatMessages.ToTemplate(history, null)).Length; }
            catch (FrSpecException e)
            {
                history.RemoveAt(history.Count - 1);
                Console.Error.WriteLine($"[error: {e.Message}]");
                continue;
            }
            if (room <= 0)
            {
                history.RemoveAt(history.Count - 1);
                Console.Error.WriteLine($"[the conversation fills the model's context of {engine.ContextLength} tokens: /reset to start over]");
                continue;
            }
            var turn = options.Clone();
            turn.MaxOutputTokens = Math.Min(options.MaxOutputTokens ?? int.MaxValue, room);
            var text = new System.Text.StringBuilder();
            using var cts = new CancellationTokenSource();
            Volatile.Write(ref answering, cts);
            string status;
            try
            {
                ChatResponseUpdate? last = null;
                foreach (var update in Stream(client, history, turn, cts.Token))
                {
                    if (update.Text is { Length: > 0 } piece)
                    {
                        text.Append(piece);
                        Console.Write(piece);
                        Console.Out.Flush();
                    }
                    last = update;
                }
                var usage = last?.Contents.OfType<UsageContent>().FirstOrDefault()?.Details;
                var stats = last?.AdditionalProperties;
                status = $"[{method}: {usage?.OutputTokenCount} tokens, {stats?[FrSpecChatClient.StatisticsKeys.TokensPerSecond]:F1} tokens/s, mean accepted length {stats?[FrSpecChatClient.StatisticsKeys.MeanAcceptedLength]:F2}, {last?.FinishReason}]";
            }
            catch (OperationCanceledException)
            {
                status = "[stopped]";
            }
            catch (FrSpecException e)
            {
                status = $"[error: {e.Message}]";
            }
            finally { Volatile.Write(ref answering, null); }
            Console.WriteLine();
            Console.Error.WriteLine(status);
            history.Add(new ChatMessage(ChatRole.Assistant, text.ToString()));
        }
    }

    /// <summary>The streamed updates, consumed synchronously (the console is synchronous).</summary>
    private static IEnumerable<ChatResponseUpdate> Stream(IChatClient client, List<ChatMessage> history, ChatOptions options, CancellationToken cancel)
    {
        var e = client.GetStreamingResponseAsync(history, options, cancel).GetAsyncEnumerator(cancel);
        try
        {
            while (e.MoveNextAsync().AsTask().GetAwaiter().GetResult()) yield return e.Current;
        }
        finally { e.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }
}
