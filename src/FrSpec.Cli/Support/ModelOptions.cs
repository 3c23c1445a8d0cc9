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
    public Option<int?> FrSize { get; } = new("--fr-size") { Description = "FR-Spec subset size V' (uses freq_V'.pt beside the model/head, or the bundled subset)" };
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
        var model = LanguageModel.Load(parse.GetValue(Model)!, CliEngineOptions.FromEnvironment());
        try
        {
            var draft = DrafterCliOptions.FrVocabulary(model, parse.GetValue(Fr), parse.GetValue(FrSize), inputs);
            return (model, inputs.Method(kind, draft), draft);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
