using System.CommandLine;
using FrSpec.Model;
using FrSpec.Sessions;
using FrSpec.Speculative;

namespace FrSpec.Cli.Support;

/// <summary>
/// The options that choose a model and how it decodes, shared by generate, chat and serve: --model, and for
/// speculative decoding --eagle with --fr / --fr-size (FR-Spec) and --tree (automatic) or the --tree-* shape.
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
    public Option<string?> FrSize { get; } = new("--fr-size") { Description = "FR-Spec subset size V' (uses freq_V'.pt beside the model/head, or the bundled subset); auto: the automatic tree also chooses V' among 8k, 16k, 32k and the full head" };
    /// <summary>--tree auto (the default) or a fixed tree from --tree-depth/--tree-topk/--tree-tokens.</summary>
    public CliTreeOptions Tree { get; } = new();

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Model, Eagle, Fr, FrSize }) command.Options.Add(option);
        foreach (var option in Tree.All) command.Options.Add(option);
    }

    /// <summary>The loaded model (engine options from FRSPEC_* variables), the decoding method and its draft vocabulary.</summary>
    public (LanguageModel Model, DecodingMethod Method, DraftVocabulary? Draft) Load(ParseResult parse)
    {
        string? eagleDir = parse.GetValue(Eagle);
        string? sizeText = parse.GetValue(FrSize);
        if (eagleDir == null && (parse.GetValue(Fr) != null || sizeText != null))
            throw new FrSpecException("--fr/--fr-size select the draft vocabulary of an EAGLE head: give --eagle DIR too");
        var fixedTree = Tree.Resolve(parse);
        bool autoSize = sizeText == "auto";
        int? size = autoSize || sizeText == null ? null
            : int.TryParse(sizeText, out int n) && n > 0 ? n : throw new FrSpecException($"--fr-size {sizeText}: expected a positive integer or auto");
        if (autoSize && parse.GetValue(Fr) != null) throw new FrSpecException("--fr-size auto chooses among the bundled subsets: leave out --fr");
        if (autoSize && fixedTree != null) throw new FrSpecException("--fr-size auto needs the automatic tree: leave out --tree-depth/--tree-topk/--tree-tokens");
        var model = LanguageModel.Load(parse.GetValue(Model)!, CliEngineOptions.FromEnvironment());
        try
        {
            var vocabulary = model.Vocabulary;
            DraftVocabulary? draft = parse.GetValue(Fr) is string file ? vocabulary.LoadDraftVocabulary(file, size)
                : size is int s ? vocabulary.FindDraftVocabulary(s, eagleDir)
                : null;
            var method = eagleDir == null ? DecodingMethod.Vanilla
                : autoSize ? DecodingMethod.Eagle(eagleDir, AutoVocabularies(vocabulary, eagleDir), CliTreeOptions.Auto)
                : fixedTree != null ? DecodingMethod.Eagle(eagleDir, draft, fixedTree)
                : DecodingMethod.Eagle(eagleDir, [draft], CliTreeOptions.Auto);
            return (model, method, draft);
        }
        catch
        {
            model.Dispose();
            throw;
        }
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
}
