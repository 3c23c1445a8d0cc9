namespace FrSpec.Text;

/// <summary>Entry point for loading tokenizers (placeholder until the tokenizer work lands).</summary>
public static class TokenizerLoader
{
    /// <summary>Loads a Hugging Face tokenizer.json (or the tokenizer.json inside a model directory).</summary>
    public static ITokenizer Load(string path) => throw new NotImplementedException();
}
