using System.CommandLine;
using System.Text.Json;
using FrSpec.Benchmarks;
using FrSpec.Cli.Support;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Text;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec generate`: text generation with vanilla or speculative decoding (any drafter, FR-Spec optional), streamed as produced.</summary>
public sealed class GenerateCommand : ICliVerb
{
    public Command Create()
    {
        var models = new ModelOptions();
        var prompt = new Argument<string?>("prompt") { Description = "Prompt text (read from standard input when omitted)", Arity = ArgumentArity.ZeroOrOne };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Maximum new tokens", DefaultValueFactory = _ => 128 };
        var temperature = new Option<float>("--temperature") { Description = "0 = greedy", DefaultValueFactory = _ => 0f };
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling mass", DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "Keep the k most probable tokens (0 = off)", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { Description = "Sampling seed", DefaultValueFactory = _ => 0UL };
        var chat = new Option<bool>("--chat") { Description = "Wrap the prompt in the model's chat template as a user turn" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (ids, text, speed, timings) instead of streaming" };
        var truncate = new Option<bool>("--truncate") { Description = "Cut a prompt too long for the model's context (keeps BOS and the end of the prompt) instead of refusing it" };
        var cmd = new Command("generate", "Generate text (vanilla, or speculative decoding: EAGLE-2/3, a draft model, Medusa, prompt lookup; FR-Spec with --fr/--fr-size)")
        {
            prompt, maxTokens, temperature, topP, topK, seed, chat, json, truncate,
        };
        models.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            string text = pr.GetValue(prompt) ?? ReadPromptFromStdin();
            var (lm, method, draft) = models.Load(pr);
            using var _ = lm;
            var vocabulary = lm.Vocabulary;
            using var session = lm.CreateSession(method);
            var ids = vocabulary.EncodePrompt(text, pr.GetValue(chat));
            if (pr.GetValue(truncate))
            {
                var cut = ContextWindow.Truncate(ids, pr.GetValue(maxTokens), lm.Target.Config, vocabulary.Tokenizer?.BosId);
                if (cut.Length < ids.Length) Console.Error.WriteLine($"prompt truncated from {ids.Length} to {cut.Length} tokens (--truncate keeps BOS and the end)");
                ids = cut;
            }
            var progress = PrefillProgress.For(ids.Length);
            var options = new GenerationOptions
            {
                MaxNewTokens = pr.GetValue(maxTokens),
                Sampling = new SamplingOptions(pr.GetValue(temperature), pr.GetValue(topK), pr.GetValue(topP), pr.GetValue(seed)),
                PrefillProgress = progress,
            };
            if (pr.GetValue(json))
            {
                GenerationResult r;
                try { r = session.Generate(ids, options); }
                finally { progress?.Clear(); }
                Console.WriteLine(ToJson(session.Name, ids.Length, r, vocabulary.Decode(r.Ids), draft));
                ReportPlainDecoding(session.Name, r);
                return 0;
            }
            var stream = new StreamingDecoder(vocabulary.Tokenizer!, skipSpecialTokens: true);
            GenerationResult result;
            try { result = session.Generate(ids, options, id => { progress?.Clear(); Console.Write(stream.Push(id)); Console.Out.Flush(); }); }
            finally { progress?.Clear(); }
            Console.WriteLine(stream.Flush());
            Console.Error.WriteLine($"[{session.Name}: {result.Ids.Length} tokens, {result.TokensPerSecond:F2} tokens/s, mean accepted length {result.MeanAcceptLength:F2}, prefill {result.PrefillSeconds:F2} s"
                + (result.Tree is { } plan ? $"; tree: {plan}]" : "]"));
            ReportPlainDecoding(session.Name, result);
            return 0;
        });
        return cmd;
    }

    /// <summary>Says on stderr when the automatic tree found that no tree beats plain decoding (so the output came plainly).</summary>
    public static void ReportPlainDecoding(string method, GenerationResult r)
    {
        if (r.Tree is { Speculative: false } plan)
            Console.Error.WriteLine($"{method}: {plan}; decoded plainly");
    }

    /// <summary>The prompt when none is given on the command line: all of standard input (not a terminal).</summary>
    private static string ReadPromptFromStdin()
    {
        if (!Console.IsInputRedirected) throw new FrSpecException("give a prompt, or pipe one into standard input (e.g. echo 'Hello' | frspec generate --model DIR)");
        string text = Console.In.ReadToEnd();
        if (text.EndsWith('\n')) text = text[..^(text.EndsWith("\r\n", StringComparison.Ordinal) ? 2 : 1)];
        return text.Length > 0 ? text : throw new FrSpecException("the prompt read from standard input is empty");
    }

    /// <summary>The --json object; <paramref name="draft"/> identifies the FR-Spec vocabulary (size, source, SHA-256 of its ids).</summary>
    public static string ToJson(string method, int promptTokens, GenerationResult r, string text, DraftVocabulary? draft = null)
    {
        var o = new Dictionary<string, object?>
        {
            ["method"] = method,
            ["prompt_tokens"] = promptTokens,
            ["ids"] = r.Ids,
            ["draft_vocabulary"] = draft == null ? null : new Dictionary<string, object> { ["size"] = draft.Count, ["source"] = draft.Source, ["sha256"] = draft.Fingerprint },
            ["text"] = text,
            ["new_tokens"] = r.Ids.Length,
            ["tokens_per_second"] = r.TokensPerSecond,
            ["prefill_seconds"] = r.PrefillSeconds,
            ["decode_seconds"] = r.DecodeSeconds,
            ["stopped_by_stop_id"] = r.StoppedByStopId,
            ["accept_lengths"] = r.AcceptLengths,
            ["mean_accept_length"] = r.MeanAcceptLength,
            ["time"] = new Dictionary<string, double>
            {
                ["draft_layers"] = r.Time.DraftLayers, ["draft_lm_head"] = r.Time.DraftLmHead, ["verify"] = r.Time.Verify, ["other"] = r.Time.Other,
            },
            ["tree"] = r.Tree == null ? null : Benchmarks.TreePlanJson.ToObject(r.Tree, r.TreeChanges),
        };
        return JsonSerializer.Serialize(o);
    }
}
