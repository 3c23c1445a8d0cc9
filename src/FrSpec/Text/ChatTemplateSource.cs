using FrSpec.Formats.Gguf;

namespace FrSpec.Text;

/// <summary>
/// A model's chat template as it ships (Jinja source) with the BOS and EOS token texts the template refers to, and
/// where it came from (for error messages). Rendering is <see cref="ChatTemplate"/>'s job.
/// </summary>
public sealed record ChatTemplateSource(string Template, string? BosToken, string? EosToken, string Origin)
{
    /// <summary>tokenizer.chat_template of a GGUF file, with the texts of its BOS/EOS token ids; null when the file has none.</summary>
    public static ChatTemplateSource? FromGguf(GgufFile file)
    {
        var m = file.Metadata;
        if (m.String("tokenizer.chat_template") is not { } template) return null;
        var tokens = m.Strings("tokenizer.ggml.tokens");
        string? Token(string key) => m.Int32(key) is int id && tokens != null && id >= 0 && id < tokens.Length ? tokens[id] : null;
        return new ChatTemplateSource(template, Token("tokenizer.ggml.bos_token_id"), Token("tokenizer.ggml.eos_token_id"),
            $"{file.Path}: tokenizer.chat_template");
    }

    /// <summary>Opens <paramref name="ggufPath"/> and reads its chat template (null when it has none).</summary>
    public static ChatTemplateSource? FromGguf(string ggufPath)
    {
        using var file = GgufFile.Open(ggufPath);
        return FromGguf(file);
    }
}
