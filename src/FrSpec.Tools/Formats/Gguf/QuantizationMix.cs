namespace FrSpec.Formats.Gguf;

/// <summary>The quantized GGUF file types `frspec quantize` writes (llama.cpp's llama_ftype names and numbers).</summary>
public enum QuantizedFileType
{
    /// <summary>LLAMA_FTYPE_MOSTLY_Q4_0 (2).</summary>
    Q4_0 = 2,
    /// <summary>LLAMA_FTYPE_MOSTLY_Q8_0 (7).</summary>
    Q8_0 = 7,
    /// <summary>LLAMA_FTYPE_MOSTLY_Q4_K_M (15).</summary>
    Q4_K_M = 15,
}

/// <summary>
/// Which ggml type each tensor of a llama/qwen2 model gets in a quantized file, following llama.cpp's quantizer
/// (llama-quant.cpp, llama_tensor_get_type, without importance matrix) so that a file from `frspec quantize` has the
/// same types as one from llama-quantize. docs/gguf.md states the rule:
/// <list type="bullet">
/// <item>Only 2-D tensors whose name ends in "weight" and not in "_norm.weight" are quantized; norms, biases and
/// rope_freqs stay F32.</item>
/// <item>The output head (output.weight, or token_embd.weight when the embeddings are tied) gets Q6_K, except in a
/// Q8_0 file (Q8_0).</item>
/// <item>Q4_K_M: attn_v and ffn_down of layer i get Q6_K when <see cref="UseMoreBits"/>(i, layers), else Q4_K; every other
/// matrix (attn_q/k/output, ffn_gate/up, an untied token_embd) gets Q4_K.</item>
/// <item>Rows that are not whole blocks of the chosen type fall back as in llama.cpp: Q6_K → Q8_0 and Q4_K → Q5_0 (which
/// the engine loads as Q8_0, exactly); then F16 if even 32 does not divide the row. A Q8_0 or Q4_0 file whose rows are
/// not whole 32-weight blocks is refused, as llama.cpp refuses it.</item>
/// </list>
/// </summary>
public static class QuantizationMix
{
    public static QuantizedFileType Parse(string s) => s.ToLowerInvariant() switch
    {
        "q8_0" => QuantizedFileType.Q8_0,
        "q4_0" => QuantizedFileType.Q4_0,
        "q4_k_m" => QuantizedFileType.Q4_K_M,
        _ => throw new FrSpecException($"--type '{s}': expected q8_0, q4_0 or q4_k_m"),
    };

    public static string Name(QuantizedFileType t) => t.ToString();

    /// <summary>llama.cpp's use_more_bits: the first and last eighth of the layers, and every third layer in between.</summary>
    public static bool UseMoreBits(int layer, int layers) =>
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;

    /// <summary>Whether llama.cpp quantizes a tensor at all (2-D weights other than norms).</summary>
    public static bool IsQuantized(string ggufName, int dims) =>
        dims == 2 && ggufName.EndsWith("weight", StringComparison.Ordinal) && !ggufName.Contains("_norm.weight", StringComparison.Ordinal);

    /// <summary>
    /// The type of 2-D tensor <paramref name="ggufName"/> with <paramref name="cols"/> weights per row in a file of
    /// <paramref name="fileType"/>; <paramref name="hasOutput"/>: the model has its own output.weight (untied).
    /// </summary>
    public static GgmlType TypeOf(QuantizedFileType fileType, string ggufName, long cols, int layers, bool hasOutput)
    {
        var baseType = fileType switch
        {
            QuantizedFileType.Q8_0 => GgmlType.Q8_0,
            QuantizedFileType.Q4_0 => GgmlType.Q4_0,
            _ => GgmlType.Q4_K,
        };
        var type = baseType;
        bool isHead = ggufName == "output.weight" || (!hasOutput && ggufName == "token_embd.weight");
        if (isHead)
        {
            // llama.cpp tests the row against the block of the file's base type here, then falls back below
            if (cols % BlockSize(baseType) != 0) type = GgmlType.Q8_0;
            else if (baseType != GgmlType.Q8_0) type = GgmlType.Q6_K;
        }
        else if (fileType == QuantizedFileType.Q4_K_M && LayerOf(ggufName) is int layer
            && (ggufName.EndsWith(".attn_v.weight", StringComparison.Ordinal) || ggufName.EndsWith(".ffn_down.weight", StringComparison.Ordinal))
            && UseMoreBits(layer, layers))
            type = GgmlType.Q6_K;

        if (cols % BlockSize(type) == 0) return type;
        type = type switch
        {
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q6_K => GgmlType.Q8_0,
            _ => throw new FrSpecException($"tensor '{ggufName}': rows of {cols} weights are not whole {BlockSize(type)}-weight {type} blocks"),
        };
        return cols % BlockSize(type) == 0 ? type : GgmlType.F16;
    }

    private static int BlockSize(GgmlType t) => GgmlTypeInfo.BlockSize(t);

    /// <summary>N of "blk.N.…", or null.</summary>
    private static int? LayerOf(string ggufName)
    {
        const string prefix = "blk.";
        if (!ggufName.StartsWith(prefix, StringComparison.Ordinal)) return null;
        int dot = ggufName.IndexOf('.', prefix.Length);
        return dot > 0 && int.TryParse(ggufName.AsSpan(prefix.Length, dot - prefix.Length), out int n) ? n : null;
    }
}
