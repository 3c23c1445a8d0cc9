using System.CommandLine;
using System.Text.Json;
using FrSpec.Cli.Support;
using FrSpec.Generation;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;
using FrSpec.Text;

namespace FrSpec.Cli.Commands;

/// <summary>`frspec generate`: text generation with vanilla, EAGLE-2 or FR-Spec decoding, streamed as produced.</summary>
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
        var eagle = new Option<string?>("--eagle") { Description = "EAGLE-1/2 draft head directory: speculative decoding" };
        var fr = new Option<string?>("--fr") { Description = "FR-Spec frequency list (freq_N.pt or SGLang token map) for the draft LM head" };
        var frSize = new Option<string?>("--fr-size") { Description = "FR-Spec subset size V' (uses freq_V'.pt beside the model/head, or the bundled subset); auto: the automatic tree also chooses V' among 8k, 16k, 32k and the full head" };
        var tree = new CliTreeOptions();
        var cmd = new Command("generate", "Generate text (vanilla, or EAGLE-2 / FR-Spec speculative decoding with --eagle)")
        {
            model, prompt, maxTokens, temperature, topP, topK, seed, chat, json, eagle, fr, frSize,
        };
        foreach (var o in tree.All) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            string? eagleDir = pr.GetValue(eagle);
            if (eagleDir == null && (pr.GetValue(fr) != null || pr.GetValue(frSize) != null))
                throw new FrSpecException("--fr/--fr-size select the draft vocabulary of an EAGLE head: give --eagle DIR too");
            using var lm = LanguageModel.Load(pr.GetValue(model)!, CliEngineOptions.FromEnvironment());
            var vocabulary = lm.Vocabulary;
            var fixedTree = tree.Resolve(pr);
            string? sizeText = pr.GetValue(frSize);
            bool autoSize = sizeText == "auto";
            int? size = autoSize || sizeText == null ? null
                : int.TryParse(sizeText, out int n) && n > 0 ? n : throw new FrSpecException($"--fr-size {sizeText}: expected a positive integer or auto");
            if (autoSize && pr.GetValue(fr) != null) throw new FrSpecException("--fr-size auto chooses among the bundled subsets: leave out --fr");
            if (autoSize && fixedTree != null) throw new FrSpecException("--fr-size auto needs the automatic tree: leave out --tree-depth/--tree-topk/--tree-tokens");
            DraftVocabulary? draft = pr.GetValue(fr) is string file ? vocabulary.LoadDraftVocabulary(file, size)
                : size is int s ? vocabulary.FindDraftVocabulary(s, eagleDir)
                : null;
            var method = eagleDir == null ? DecodingMethod.Vanilla
                : autoSize ? DecodingMethod.Eagle(eagleDir, AutoVocabularies(vocabulary, eagleDir), CliTreeOptions.Auto)
                : fixedTree != null ? DecodingMethod.Eagle(eagleDir, draft, fixedTree)
                : DecodingMethod.Eagle(eagleDir, [draft], CliTreeOptions.Auto);
            using var session = lm.CreateSession(method);
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
                ReportPlainDecoding(session.Name, r);
                return 0;
            }
            var stream = new StreamingDecoder(vocabulary.Tokenizer!, skipSpecialTokens: true);
            var result = session.Generate(ids, options, id => { Console.Write(stream.Push(id)); Console.Out.Flush(); });
            Console.WriteLine(stream.Flush());
            Console.Error.WriteLine($"[{session.Name}: {result.Ids.Length} tokens, {result.TokensPerSecond:F2} tokens/s, mean accepted length {result.MeanAcceptLength:F2}, prefill {result.PrefillSeconds:F2} s"
                + (result.Tree is { } plan ? $"; tree: {plan}]" : "]"));
            ReportPlainDecoding(session.Name, result);
            return 0;
        });
        return cmd;
    }

    /// <summary>The FR-Spec subsets `--fr-size auto` chooses among: the bundled 8k, 16k and 32k (those smaller than the vocabulary) and the full head.</summary>
    public static IReadOnlyList<DraftVocabulary?> AutoVocabularies(ModelVocabulary vocabulary, string eagleDir)
    {
        var list = new List<DraftVocabulary?>();
        foreach (int v in new[] { 8192, 16384, 32768 })
            if (v < vocabulary.Size) list.Add(vocabulary.FindDraftVocabulary(v, eagleDir));
        list.Add(null);
        return list;
    }

    /// <summary>Says on stderr when the automatic tree found that no tree beats plain decoding (so the output came plainly).</summary>
    public static void ReportPlainDecoding(string method, GenerationResult r)
    {
        if (r.Tree is { Speculative: false } plan)
            Console.Error.WriteLine($"{method}: {plan}; decoded plainly");
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
