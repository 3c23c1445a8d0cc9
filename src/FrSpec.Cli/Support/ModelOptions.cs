using System.CommandLine;
using FrSpec.Benchmarks;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;

namespace FrSpec.Cli.Support;

/// <summary>
/// The options that choose a model and how it decodes, shared by generate, chat and serve: --model, --method, every
/// drafter's flags (<see cref="DrafterCliOptions"/>) and --fr / --fr-size (FR-Spec on the drafter's LM head).
/// </summary>
internal sealed class ModelOptions(string? defaultModel = null)
{
    /// <summary>--model; required unless a default was given (bench serve uses the bundled demo target).</summary>
    public Option<string> Model { get; } = new("--model")
    {
        Description = "Model directory (config.json, safetensors, tokenizer.json) or .gguf file" + (defaultModel == null ? "" : " (default: the bundled demo target)"),
        Required = defaultModel == null,
        DefaultValueFactory = defaultModel == null ? null! : _ => defaultModel,
    };
    public Option<string?> Method { get; } = new("--method") { Description = "vanilla, eagle2, eagle3, draft, medusa or lookup (default: the drafter whose flag is given, else vanilla)" };
    public Option<string?> Fr { get; } = new("--fr") { Description = "FR-Spec frequency list (freq_N.pt or SGLang token map) for the drafter's LM head" };
    public Option<string?> FrSize { get; } = new("--fr-size") { Description = "FR-Spec subset size V' (uses freq_V'.pt beside the model/head, or the bundled subset); auto: the automatic tree (EAGLE-2/3, draft model) also chooses V' among 8k, 16k, 32k and the drafter's own head" };
    public DrafterCliOptions Drafters { get; } = new();

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Model, Method, Fr, FrSize }) command.Options.Add(option);
        Drafters.AddTo(command);
    }

    /// <summary>The loaded model (engine options from FRSPEC_* variables), the decoding method and its draft vocabulary.</summary>
    public (LanguageModel Model, DecodingMethod Method, DraftVocabulary? Draft) Load(ParseResult parse)
    {
        var inputs = Drafters.Read(parse);
        var kind = DrafterCliOptions.Resolve(parse.GetValue(Method), inputs);
        if (!MethodSpec.HasLmHead(kind) && (parse.GetValue(Fr) != null || parse.GetValue(FrSize) != null))
            throw new FrSpecException(kind == MethodKind.Vanilla
                ? "--fr/--fr-size select the draft vocabulary of a drafter: give --eagle, --draft-model or --medusa too"
                : $"--fr/--fr-size: {kind} drafting has no draft LM head to cut");
        string? sizeText = parse.GetValue(FrSize);
        bool autoSize = sizeText == "auto";
        int? size = autoSize || sizeText == null ? null
            : int.TryParse(sizeText, out int n) && n > 0 ? n : throw new FrSpecException($"--fr-size {sizeText}: expected a positive integer or auto");
        if (autoSize && kind is not (MethodKind.Eagle2 or MethodKind.FrSpec or MethodKind.Eagle3 or MethodKind.DraftModel))
            throw new FrSpecException("--fr-size auto: only the automatic tree of EAGLE-2, EAGLE-3 and draft models chooses the draft vocabulary; give a size");
        if (autoSize && parse.GetValue(Fr) != null) throw new FrSpecException("--fr-size auto chooses among the bundled subsets: leave out --fr");
        if (autoSize && inputs.Tree != null) throw new FrSpecException("--fr-size auto needs the automatic tree: leave out --tree fixed and --tree-depth/--tree-topk/--tree-tokens");
        var model = LanguageModel.Load(parse.GetValue(Model)!, CliEngineOptions.FromEnvironment());
        try
        {
            if (autoSize)
                return (model, inputs.AutoVocabularyMethod(kind, AutoVocabularies(model, inputs)), null);
            var draft = DrafterCliOptions.FrVocabulary(model, parse.GetValue(Fr), size, inputs);
            return (model, inputs.Method(kind, draft), draft);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The FR-Spec subsets `--fr-size auto` chooses among: 8k, 16k and 32k (those smaller than the vocabulary; freq_N.pt
    /// beside the model or the drafter's files, else the bundled counts) and the drafter's own head.
    /// </summary>
    public static IReadOnlyList<DraftVocabulary?> AutoVocabularies(LanguageModel model, DrafterInputs inputs)
    {
        var list = new List<DraftVocabulary?>();
        foreach (int v in ModelVocabulary.StandardDraftSizes)
            if (v < model.Vocabulary.Size) list.Add(DrafterCliOptions.FrVocabulary(model, null, v, inputs));
        list.Add(null);
        return list;
    }
}
