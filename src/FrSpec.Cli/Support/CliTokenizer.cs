using FrSpec.Sessions;
using FrSpec.Text;

namespace FrSpec.Cli.Support;

/// <summary>Resolves --tokenizer PATH | --model DIR into a tokenizer, its file and the model folder (for EOS settings).</summary>
internal sealed record CliTokenizer(ITokenizer Tokenizer, string TokenizerFile, string? ModelDir)
{
    public static CliTokenizer? TryLoad(string? tokenizerPath, string? modelDir)
    {
        if (tokenizerPath != null && modelDir != null) throw new FrSpecException("give either --tokenizer or --model, not both");
        string? path = tokenizerPath ?? modelDir;
        if (path is null) return null;
        string file = Directory.Exists(path) ? Path.Combine(path, "tokenizer.json") : path;
        if (!File.Exists(file)) throw new FrSpecException($"{file}: tokenizer file not found");
        // A tokenizer.json beside HF config files: read EOS settings from that folder too.
        string? dir = modelDir ?? (Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(file)));
        ITokenizer tok;
        try { tok = TokenizerLoader.Load(path); }
        catch (NotImplementedException) { throw new FrSpecException("the tokenizer is not available in this build yet (FrSpec.Text.TokenizerLoader)"); }
        return new CliTokenizer(tok, file, dir);
    }

    /// <summary>
    /// The ids every FR-Spec subset keeps (BOS, stop ids, the chat template's control tokens), resolved from the files beside
    /// the tokenizer as the engine resolves them for a loaded model.
    /// </summary>
    public IReadOnlyList<int> ControlIds() =>
        ModelDir == null ? [] : ModelVocabulary.Load(ModelDir, Tokenizer.VocabSize, Tokenizer).ControlIds;

    public static CliTokenizer Load(string? tokenizerPath, string? modelDir) =>
        TryLoad(tokenizerPath, modelDir) ?? throw new FrSpecException("give --tokenizer PATH (tokenizer.json) or --model DIR");
}
