using System.CommandLine;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;

namespace FrSpec.Cli.Support;

/// <summary>
/// The options that choose a model and how it decodes, shared by generate, chat and serve: --model, and for
/// speculative decoding --eagle with --fr / --fr-size (FR-Spec) and the --tree-* shape.
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
    public Option<string?> Eagle { get; } = new("--eagle") { Description = "EAGLE-1/2 draft head directory: speculative decoding" };
    public Option<string?> Fr { get; } = new("--fr") { Description = "FR-Spec frequency list (freq_N.pt or SGLang token map) for the draft LM head" };
    public Option<int?> FrSize { get; } = new("--fr-size") { Description = "FR-Spec subset size V' (uses freq_V'.pt beside the model/head, or the bundled subset)" };
    public Option<int> Depth { get; } = new("--tree-depth") { Description = "EAGLE-2 expansion steps after the root's children", DefaultValueFactory = _ => TreeOptions.Default.Depth };
    public Option<int> TopK { get; } = new("--tree-topk") { Description = "EAGLE-2 children per node and frontier width", DefaultValueFactory = _ => TreeOptions.Default.TopK };
    public Option<int> Tokens { get; } = new("--tree-tokens") { Description = "Tree tokens verified per step, root included", DefaultValueFactory = _ => TreeOptions.Default.TotalTokens };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Model, Eagle, Fr, FrSize, Depth, TopK, Tokens }) command.Options.Add(option);
    }

    /// <summary>The loaded model (engine options from FRSPEC_* variables), the decoding method and its draft vocabulary.</summary>
    public (LanguageModel Model, DecodingMethod Method, DraftVocabulary? Draft) Load(ParseResult parse)
    {
        string? eagleDir = parse.GetValue(Eagle);
        if (eagleDir == null && (parse.GetValue(Fr) != null || parse.GetValue(FrSize) != null))
            throw new FrSpecException("--fr/--fr-size select the draft vocabulary of an EAGLE head: give --eagle DIR too");
        var model = LanguageModel.Load(parse.GetValue(Model)!, CliEngineOptions.FromEnvironment());
        try
        {
            var vocabulary = model.Vocabulary;
            var tree = new TreeOptions { Depth = parse.GetValue(Depth), TopK = parse.GetValue(TopK), TotalTokens = parse.GetValue(Tokens) };
            DraftVocabulary? draft = parse.GetValue(Fr) is string file ? vocabulary.LoadDraftVocabulary(file, parse.GetValue(FrSize))
                : parse.GetValue(FrSize) is int size ? vocabulary.FindDraftVocabulary(size, eagleDir)
                : null;
            return (model, eagleDir == null ? DecodingMethod.Vanilla : DecodingMethod.Eagle(eagleDir, draft, tree), draft);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
