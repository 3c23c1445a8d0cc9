namespace FrSpec.Synthesis;

/// <summary>
/// A published model's matrix shapes, for <see cref="ModelExpander"/>: residual width, FFN width, layer count, and the
/// total query and key/value widths (heads × head dim). Expansion keeps the small model's head dimension, so the
/// head count is whatever fills these widths: every projection, the attention FLOPs and the KV cache then have the
/// real model's size (docs/expansion.md).
/// </summary>
public sealed record ExpansionShape(string Name, int HiddenSize, int IntermediateSize, int Layers, int QueryWidth, int KeyValueWidth, bool TieWordEmbeddings)
{
    public static IReadOnlyList<ExpansionShape> Known { get; } =
    [
        // Qwen2.5-0.5B: 14 heads / 2 KV heads of 64, tied embeddings.
        new("qwen2.5-0.5b", 896, 4864, 24, 14 * 64, 2 * 64, true),
        // Qwen2.5-1.5B: 12 heads / 2 KV heads of 128, tied embeddings.
        new("qwen2.5-1.5b", 1536, 8960, 28, 12 * 128, 2 * 128, true),
        // Qwen2-7B: 28 heads / 4 KV heads of 128, separate LM head (its 152,064-row vocabulary is padding beyond 151,936).
        new("qwen2-7b", 3584, 18944, 28, 28 * 128, 4 * 128, false),
        // Llama-3.2-1B: 32 heads / 8 KV heads of 64, tied embeddings.
        new("llama-3.2-1b", 2048, 8192, 16, 32 * 64, 8 * 64, true),
        // Llama-3-8B: 32 heads / 8 KV heads of 128, separate LM head.
        new("llama-3-8b", 4096, 14336, 32, 32 * 128, 8 * 128, false),
    ];

    public static IEnumerable<string> Names => Known.Select(s => s.Name);

    public static ExpansionShape Find(string name) =>
        Known.FirstOrDefault(s => s.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new FrSpecException($"--shape: unknown shape '{name}' (known: {string.Join(", ", Names)})");
}
