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
        var model = new Option<string>("--model") { Description = "Model directory (config.json, safetensors, tokenizer.json)", Required = true };
        var prompt = new Argument<string>("prompt") { Description = "Prompt text" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Maximum new tokens", DefaultValueFactory = _ => 128 };
        var temperature = new Option<float>("--temperature") { Description = "0 = greedy", DefaultValueFactory = _ => 0f };
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling mass", DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "Keep the k most probable tokens (0 = off)", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { Description = "Sampling seed", DefaultValueFactory = _ => 0UL };
        var chat = new Option<bool>("--chat") { Description = "Wrap the prompt in the model's chat template as a user turn" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (ids, text, speed, timings) instead of streaming" };
        var method = new Option<string?>("--method") { Description = "vanilla, eagle2, eagle3, draft, medusa or lookup (default: the drafter whose flag is given, else vanilla)" };
        var fr = new Option<string?>("--fr") { Description = "FR-Spec frequency list (freq_N.pt or SGLang token map) for the drafter's LM head" };
        var frSize = new Option<int?>("--fr-size") { Description = "FR-Spec subset size V' (uses freq_V'.pt beside the model/head, or the bundled subset)" };
        var drafters = new DrafterCliOptions();
        var cmd = new Command("generate", "Generate text (vanilla, or speculative decoding: EAGLE-2/3, a draft model, Medusa, prompt lookup; FR-Spec with --fr/--fr-size)")
        {
            model, prompt, maxTokens, temperature, topP, topK, seed, chat, json, method, fr, frSize,
        };
        drafters.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            var inputs = drafters.Read(pr);
            var kind = DrafterCliOptions.Resolve(pr.GetValue(method), inputs);
            if (!MethodSpec.HasLmHead(kind) && (pr.GetValue(fr) != null || pr.GetValue(frSize) != null))
                throw new FrSpecException(kind == MethodKind.Vanilla
                    ? "--fr/--fr-size select the draft vocabulary of a drafter: give --eagle, --draft-model or --medusa too"
                    : $"--fr/--fr-size: {kind} drafting has no draft LM head to cut");
            using var lm = LanguageModel.Load(pr.GetValue(model)!, CliEngineOptions.FromEnvironment());
            var vocabulary = lm.Vocabulary;
            var draft = DrafterCliOptions.FrVocabulary(lm, pr.GetValue(fr), pr.GetValue(frSize), inputs);
            using var session = lm.CreateSession(inputs.Method(kind, draft));
            var ids = vocabulary.EncodePrompt(pr.GetValue(prompt)!, pr.GetValue(chat));
            var options = new GenerationOptions
            {
                MaxNewTokens = pr.GetValue(maxTokens),
                Sampling = new SamplingOptions(pr.GetValue(temperature), pr.GetValue(topK), pr.GetValue(topP), pr.GetValue(seed)),
            };
            if (pr.GetValue(json))
            {
                var r = session.Generate(ids, options);
                Console.WriteLine(ToJson(session.Name, ids.Length, r, vocabulary.Decode(r.Ids), draft));
                return 0;
            }
            var stream = new StreamingDecoder(vocabulary.Tokenizer!, skipSpecialTokens: true);
            var result = session.Generate(ids, options, id => { Console.Write(stream.Push(id)); Console.Out.Flush(); });
            Console.WriteLine(stream.Flush());
            Console.Error.WriteLine($"[{session.Name}: {result.Ids.Length} tokens, {result.TokensPerSecond:F2} tokens/s, mean accepted length {result.MeanAcceptLength:F2}, prefill {result.PrefillSeconds:F2} s]");
            return 0;
        });
        return cmd;
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
        };
        return JsonSerializer.Serialize(o);
    }
}
